# Copyright (c) mmlwgan contributors. All rights reserved.
"""HMR: human mesh recovery as released with the Liquid Warping GAN.

HMR (Kanazawa et al., "End-to-end Recovery of Human Shape and Pose", CVPR
2018) regresses SMPL parameters from a person-centred square image:

* a backbone (by default the pre-activation ResNet-50 ``ResNetV2`` of the
  release) gives a 2048-d feature: the last feature map after the final
  BatchNorm + ReLU, averaged over space (the release's ``avg_pool2d(7)`` on the
  7 x 7 map of a 224 x 224 input; here a global mean, identical at 224 px);
* an :class:`IterativeRegressor` ("iterative error feedback") starts from a
  stored mean ``theta`` and adds a correction 3 times; each correction comes
  from ``FC(2048 + 85, 1024) - ReLU - Dropout(0.5) - FC(1024, 1024) - ReLU -
  Dropout(0.5) - FC(1024, 85)`` applied to ``[feature, current theta]``;
* ``theta`` (85) = weak-perspective camera ``[s, tx, ty]`` (3) + SMPL pose
  (72, axis-angle, root first) + shape betas (10); see
  :func:`mmlwgan.models.body.split_theta`.

Inputs: (B, 3, 224, 224) RGB scaled to ``[-1, 1]`` (``img / 255 * 2 - 1``),
the person centred (see :mod:`mmlwgan.models.body.hmr_api` for resizing and
person crops).

Weights: the released ``hmr_tf2pt.pth`` (converted from TF HMR) maps onto
this module by renaming ``resnet.`` to ``backbone.``
(:func:`mmlwgan.models.converters.hmr.convert_hmr`); ``pretrained`` /
``init_cfg=dict(type='Pretrained', checkpoint=...)`` also accept the released
file directly. The released file also carries the SMPL layer's buffers
(``smpl.v_template``, ...): they do NOT belong to this module's state dict;
:func:`mmlwgan.models.converters.hmr.extract_smpl_from_hmr` turns them into a
neutral SMPL ``.npz`` for :class:`mmlwgan.models.body.SMPL`.

HMR is frozen by default (no parameter requires grad and the module stays in
eval mode even when a parent calls ``.train()``), so dropout is off and
BatchNorm uses its running statistics; mmengine's
``MMSeparateDistributedDataParallel`` leaves a frozen HMR unwrapped.
"""
import math
import os.path as osp
from collections import OrderedDict
from typing import List, Optional, Sequence, Union

import numpy as np
import torch
import torch.nn as nn
from mmengine.logging import print_log
from mmengine.model import BaseModule
from torch import Tensor

from mmlwgan.models.backbones import ResNetV2  # noqa: F401 (registers it)
from mmlwgan.registry import MODELS
from mmlwgan.utils.logging import print_once_warning

__all__ = ['HMR', 'IterativeRegressor', 'default_mean_theta']

ConfigType = Union[dict, nn.Module]


def default_mean_theta(theta_dim: int = 85) -> Tensor:
    """The initial ``theta`` used when no pretrained ``mean_theta`` exists.

    Follows the release's fallback (``load_mean_theta`` without a file): scale
    0.9, no translation, zero shape; the root rotation is pi about x (the
    release's upright initialisation: SMPL's y-up body seen with the image's
    y pointing down), every other joint at rest.

    Args:
        theta_dim (int): Length of theta. Defaults to 85.

    Returns:
        Tensor: (theta_dim,) float32.
    """
    mean = torch.zeros(theta_dim, dtype=torch.float32)
    mean[0] = 0.9
    if theta_dim > 3:
        mean[3] = math.pi
    return mean


class IterativeRegressor(nn.Module):
    """HMR's iterative theta regressor (iterative error feedback).

    State-dict names match the release's ``regressor.*``: ``mean_theta``
    (buffer) and ``fc_blocks.fc{1,2,3}.{weight,bias}``.

    Args:
        in_channels (int): Feature dimension. Defaults to 2048.
        theta_dim (int): Output dimension. Defaults to 85.
        hidden_channels (int): Width of the two hidden layers. Defaults to
            1024.
        num_iters (int): Number of refinement iterations. Defaults to 3.
        dropout (float): Dropout probability after each hidden layer.
            Defaults to 0.5.
        mean_theta (Sequence[float] | Tensor | str, optional): Initial theta
            (an (theta_dim,) array or an ``.npy`` file). Defaults to
            :func:`default_mean_theta`; pretrained weights overwrite it.
    """

    def __init__(self,
                 in_channels: int = 2048,
                 theta_dim: int = 85,
                 hidden_channels: int = 1024,
                 num_iters: int = 3,
                 dropout: float = 0.5,
                 mean_theta: Optional[Union[Sequence[float], Tensor,
                                            str]] = None) -> None:
        super().__init__()
        if num_iters < 1:
            raise ValueError(f'num_iters should be >= 1, got {num_iters}')
        self.in_channels = in_channels
        self.theta_dim = theta_dim
        self.num_iters = num_iters
        self.register_buffer('mean_theta',
                             self._make_mean_theta(mean_theta, theta_dim))
        self.fc_blocks = nn.Sequential(
            OrderedDict([
                ('fc1', nn.Linear(in_channels + theta_dim, hidden_channels)),
                ('relu1', nn.ReLU()),
                ('dropout1', nn.Dropout(p=dropout)),
                ('fc2', nn.Linear(hidden_channels, hidden_channels)),
                ('relu2', nn.ReLU()),
                ('dropout2', nn.Dropout(p=dropout)),
                ('fc3', nn.Linear(hidden_channels, theta_dim)),
            ]))
        # Small initial corrections, as the release ("small xavier").
        nn.init.xavier_normal_(self.fc_blocks.fc3.weight, gain=0.1)
        nn.init.zeros_(self.fc_blocks.fc3.bias)

    @staticmethod
    def _make_mean_theta(value, theta_dim: int) -> Tensor:
        if value is None:
            return default_mean_theta(theta_dim)
        if isinstance(value, str):
            if not osp.isfile(value):
                raise FileNotFoundError(f'mean_theta file not found: {value}')
            value = np.load(value, allow_pickle=False)
        mean = torch.as_tensor(
            np.asarray(value, dtype=np.float32)).reshape(-1).clone()
        if mean.numel() != theta_dim:
            raise ValueError(f'mean_theta should have {theta_dim} values, got '
                             f'{mean.numel()}')
        return mean

    def forward(self,
                feat: Tensor,
                init_theta: Optional[Tensor] = None) -> List[Tensor]:
        """Refine theta ``num_iters`` times.

        Args:
            feat (Tensor): Features (B, in_channels).
            init_theta (Tensor, optional): Starting theta (B, theta_dim);
                defaults to ``mean_theta`` for every sample.

        Returns:
            list[Tensor]: ``num_iters`` tensors (B, theta_dim): the theta
            after each iteration, ``thetas[i] = thetas[i - 1] +
            fc_blocks(cat(feat, thetas[i - 1]))``; the last one is HMR's
            prediction.
        """
        if feat.dim() != 2 or feat.shape[1] != self.in_channels:
            raise ValueError(f'feat should be (B, {self.in_channels}), got '
                             f'{tuple(feat.shape)}')
        if init_theta is None:
            theta = self.mean_theta.to(feat.dtype).expand(feat.shape[0], -1)
        else:
            theta = init_theta.to(feat.dtype)
        thetas = []
        for _ in range(self.num_iters):
            theta = theta + self.fc_blocks(torch.cat([feat, theta], dim=1))
            thetas.append(theta)
        return thetas


def _split_pretrained(pretrained: Optional[str], init_cfg):
    """Return ``(checkpoint path or None, remaining init_cfg)``."""
    cfgs = [] if init_cfg is None else (
        [init_cfg] if isinstance(init_cfg, dict) else list(init_cfg))
    others, ckpts = [], []
    for cfg in cfgs:
        if cfg.get('type') == 'Pretrained':
            ckpts.append(cfg.get('checkpoint'))
        else:
            others.append(cfg)
    if pretrained is not None:
        ckpts.append(pretrained)
    ckpts = [c for c in ckpts if c]
    if len(ckpts) > 1:
        raise ValueError('give the pretrained HMR weights once, either as '
                         '`pretrained` or in `init_cfg`, got '
                         f'{ckpts}')
    return (ckpts[0] if ckpts else None), (others or None)


def _is_url(path: str) -> bool:
    return path.startswith(('http://', 'https://', 's3://', 'open-mmlab://'))


@MODELS.register_module()
class HMR(BaseModule):
    """HMR: backbone + iterative SMPL-parameter regressor (frozen).

    Args:
        backbone (dict | nn.Module): Backbone config (built in ``MODELS``)
            or module. Defaults to ``dict(type='ResNetV2', depth=50)``, the
            release's. Another toolbox's backbone works with its scope, e.g.
            ``dict(type='mmpose.ResNet', depth=18)`` with ``feat_dim=512``;
            its last output is averaged over space.
        feat_dim (int, optional): Feature dimension of the backbone. Defaults
            to the backbone's ``feat_dim`` attribute (2048 for ``ResNetV2``);
            required for other backbones.
        theta_dim (int): 3 (camera) + 72 (pose) + number of betas. Defaults
            to 85.
        hidden_channels (int): Hidden width of the regressor. Defaults to
            1024.
        num_iters (int): Regressor iterations. Defaults to 3.
        dropout (float): Regressor dropout. Defaults to 0.5.
        mean_theta (Sequence[float] | str, optional): Initial theta, see
            :class:`IterativeRegressor`.
        pretrained (str, optional): Path of the weights: an mmlwgan
            checkpoint or the released ``hmr_tf2pt.pth`` (converted on the
            fly; its SMPL buffers are ignored). Loaded at construction from
            a local file; never downloaded at construction.
        frozen (bool): Freeze all parameters and keep eval mode. Defaults to
            True.
        init_cfg (dict | list[dict], optional): ``dict(type='Pretrained',
            checkpoint=PATH)`` is equivalent to ``pretrained=PATH``; other
            entries are ordinary mmengine initialisers. Defaults to None.

    Without weights the network is initialised randomly and a warning is
    logged once.

    Examples:
        >>> hmr = HMR(pretrained='checkpoints/hmr_tf2pt_mmlwgan.pth')
        >>> thetas = hmr(torch.zeros(2, 3, 224, 224))
        >>> len(thetas), thetas[-1].shape
        (3, torch.Size([2, 85]))
    """

    def __init__(self,
                 backbone: ConfigType = dict(type='ResNetV2', depth=50),
                 feat_dim: Optional[int] = None,
                 theta_dim: int = 85,
                 hidden_channels: int = 1024,
                 num_iters: int = 3,
                 dropout: float = 0.5,
                 mean_theta: Optional[Union[Sequence[float], str]] = None,
                 pretrained: Optional[str] = None,
                 frozen: bool = True,
                 init_cfg: Optional[Union[dict, List[dict]]] = None) -> None:
        checkpoint, other_init = _split_pretrained(pretrained, init_cfg)
        super().__init__(init_cfg=other_init)
        if isinstance(backbone, nn.Module):
            self.backbone = backbone
        else:
            self.backbone = MODELS.build(backbone)
        if feat_dim is None:
            feat_dim = getattr(self.backbone, 'feat_dim', None)
            if feat_dim is None:
                raise ValueError(
                    f'cannot tell the feature dimension of the backbone '
                    f'{type(self.backbone).__name__}: set `feat_dim` in the '
                    'HMR config (e.g. 512 for a ResNet-18)')
        self.feat_dim = int(feat_dim)
        self.theta_dim = theta_dim
        self.num_iters = num_iters
        self.regressor = IterativeRegressor(
            in_channels=self.feat_dim,
            theta_dim=theta_dim,
            hidden_channels=hidden_channels,
            num_iters=num_iters,
            dropout=dropout,
            mean_theta=mean_theta)
        self.frozen = frozen
        self.checkpoint = checkpoint

        if checkpoint is None:
            print_once_warning(
                'HMR has no pretrained weights (pretrained=None): it is '
                'initialised randomly and its SMPL predictions are '
                'meaningless. Give `pretrained=` the converted release '
                'weights (tools/model_converters/convert_hmr.py).',
                key='mmlwgan.HMR.random')
        elif not _is_url(checkpoint):
            self.load_pretrained(checkpoint)
        if frozen:
            self.freeze()

    # ------------------------------------------------------------ weights
    def load_pretrained(self, path: str, strict: bool = True) -> None:
        """Load weights from a local file (or a URL, at ``init_weights``).

        Accepts an mmengine checkpoint of this module, a raw state dict, or
        the release's ``hmr_tf2pt.pth`` (recognised by its ``resnet.`` keys
        and converted with :func:`~mmlwgan.models.converters.hmr.convert_hmr`;
        the SMPL buffers are skipped). ``module.`` prefixes are stripped.

        Args:
            path (str): Checkpoint path (or URL).
            strict (bool): Require an exact key match. Defaults to True.

        Raises:
            FileNotFoundError: If a local path does not exist.
        """
        from mmlwgan.models.converters.hmr import (convert_hmr,
                                                   load_raw_state_dict)
        if _is_url(path):
            from mmengine.runner.checkpoint import CheckpointLoader
            raw = CheckpointLoader.load_checkpoint(path, map_location='cpu')
            state_dict = load_raw_state_dict(raw)
        else:
            state_dict = load_raw_state_dict(path)
        if any(k.startswith('resnet.') for k in state_dict):
            state_dict = convert_hmr(state_dict)
        self.load_state_dict(state_dict, strict=strict)
        print_log(f'HMR: loaded weights from {path}', logger='current')

    def init_weights(self) -> None:
        """(Re)load the pretrained weights, else initialise randomly.

        mmengine runs a parent's initialisers (e.g. ``dict(type='Normal',
        layer='Conv2d')``) over every sub-module before calling the
        children's ``init_weights``; reloading here undoes their effect on
        the pretrained HMR.
        """
        if self.checkpoint is not None:
            # ``_is_init`` stays False: a parent always calls this again.
            self.load_pretrained(self.checkpoint)
            return
        super().init_weights()

    # ------------------------------------------------------------ freezing
    def freeze(self) -> None:
        """Stop gradients to every parameter and switch to eval mode."""
        self.frozen = True
        for param in self.parameters():
            param.requires_grad_(False)
        self.train(False)

    def train(self, mode: bool = True) -> 'HMR':
        """Set the training mode; a frozen HMR always stays in eval mode."""
        return super().train(False if self.frozen else mode)

    # ------------------------------------------------------------ forward
    def extract_feat(self, inputs: Tensor) -> Tensor:
        """Backbone feature (B, feat_dim).

        Args:
            inputs (Tensor): (B, 3, 224, 224) RGB in ``[-1, 1]``.

        Returns:
            Tensor: The last backbone output averaged over space.
        """
        out = self.backbone(inputs)
        if isinstance(out, (list, tuple)):
            out = out[-1]
        if out.dim() == 4:
            out = out.mean(dim=(2, 3))
        elif out.dim() != 2:
            out = out.flatten(1)
        if out.shape[1] != self.feat_dim:
            raise ValueError(
                f'the backbone gives {out.shape[1]}-d features but HMR was '
                f'built with feat_dim={self.feat_dim}')
        return out

    def forward(self, inputs: Tensor) -> List[Tensor]:
        """Predict theta.

        Args:
            inputs (Tensor): (B, 3, 224, 224) RGB in ``[-1, 1]``, person
                centred.

        Returns:
            list[Tensor]: ``num_iters`` tensors (B, 85), theta after each
            regressor iteration; the last is the prediction.
        """
        return self.regressor(self.extract_feat(inputs))

    def predict_theta(self, inputs: Tensor) -> Tensor:
        """The final theta (B, 85) of :meth:`forward`."""
        return self.forward(inputs)[-1]
