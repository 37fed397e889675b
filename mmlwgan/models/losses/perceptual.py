# Copyright (c) mmlwgan contributors. All rights reserved.
"""VGG19 perceptual loss of the Liquid Warping GAN.

What the release (``svip-lab/impersonator``, ``networks/networks.py``:
``Vgg19`` + ``VGGLoss``) does, and what is kept here:

* ``torchvision.models.vgg19(pretrained=True).features`` cut into five slices
  ending after ``relu1_1``, ``relu2_1``, ``relu3_1``, ``relu4_1`` and
  ``relu5_1`` (torchvision indices 1, 6, 11, 20, 29); frozen.
* ``loss = sum_i w_i * L1(vgg_i(pred), vgg_i(target).detach())`` with
  ``w = (1/32, 1/16, 1/8, 1/4, 1)`` and ``L1`` the element mean
  (``nn.L1Loss()``); the training script multiplies it by ``lambda_tsf = 10``.
* **Input scaling.** The release feeds its images, which are in ``[-1, 1]``
  (``img / 255 * 2 - 1``), to the ImageNet-trained VGG *directly*: no
  ``(x - mean) / std`` ImageNet normalisation. Here ``input_norm='imagenet'``
  (the default) first maps ``[-1, 1]`` to ``[0, 1]`` and then applies the
  ImageNet mean/std, which is what the VGG weights expect; ImageNet-normalised
  inputs span about 2.2x the range of ``[-1, 1]``, so the loss values are
  larger than the release's for the same images. ``input_norm='none'``
  reproduces the release exactly.

Differences on purpose: the weights never download. ``pretrained`` is a path
to a file the user has (torchvision's ``vgg19-dcbb9e9d.pth`` or any state
dict with ``features.N.weight`` keys); without one the network is initialised
randomly and a warning is printed once.
"""
import os.path as osp
from collections import OrderedDict
from typing import Dict, List, Optional, Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from mmlwgan.registry import MODELS
from mmlwgan.utils.logging import print_once_warning
from mmlwgan.utils.safe_pickle import load_torch_file

__all__ = ['VGG19', 'PerceptualLoss', 'load_state_dict_file',
           'VGG19_LAYER_IDS']

#: torchvision VGG19 ``features`` index of each named activation.
VGG19_LAYER_IDS: Dict[str, int] = OrderedDict()


def _fill_layer_ids() -> None:
    idx = 0
    for block, n_convs in enumerate((2, 2, 4, 4, 4), start=1):
        for conv in range(1, n_convs + 1):
            VGG19_LAYER_IDS[f'conv{block}_{conv}'] = idx
            VGG19_LAYER_IDS[f'relu{block}_{conv}'] = idx + 1
            idx += 2
        VGG19_LAYER_IDS[f'pool{block}'] = idx
        idx += 1


_fill_layer_ids()

_VGG19_CFG = (64, 64, 'M', 128, 128, 'M', 256, 256, 256, 256, 'M', 512, 512,
              512, 512, 'M', 512, 512, 512, 512, 'M')
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def load_state_dict_file(path: str) -> Dict[str, Tensor]:
    """Read a state dict saved with ``torch.save`` from a local path.

    Unwraps ``{'state_dict': ...}`` / ``{'model': ...}`` checkpoints and the
    ``module.`` prefix of DataParallel. Never downloads anything.

    Args:
        path (str): Local file path.

    Returns:
        dict[str, Tensor]: The state dict.
    """
    if not isinstance(path, str) or not osp.isfile(path):
        raise FileNotFoundError(
            f'pretrained weights file not found: {path!r}. mmlwgan never '
            'downloads weights: give the path of a file you have.')
    data = load_torch_file(path)
    for key in ('state_dict', 'model'):
        if isinstance(data, dict) and isinstance(data.get(key), dict):
            data = data[key]
            break
    if not isinstance(data, dict):
        raise TypeError(f'{path} does not hold a state dict '
                        f'(got {type(data).__name__})')
    if data and all(k.startswith('module.') for k in data):
        data = OrderedDict((k[len('module.'):], v) for k, v in data.items())
    return data


def _make_vgg19_features(num_layers: int) -> nn.Sequential:
    """torchvision's VGG19 ``features`` (config 'E'), its first layers only,
    initialised like torchvision (Kaiming normal, fan_out; zero bias)."""
    layers: List[nn.Module] = []
    in_ch = 3
    for v in _VGG19_CFG:
        if v == 'M':
            layers.append(nn.MaxPool2d(kernel_size=2, stride=2))
        else:
            conv = nn.Conv2d(in_ch, v, kernel_size=3, padding=1)
            nn.init.kaiming_normal_(conv.weight, mode='fan_out',
                                    nonlinearity='relu')
            nn.init.zeros_(conv.bias)
            layers += [conv, nn.ReLU(inplace=True)]
            in_ch = v
        if len(layers) >= num_layers:
            break
    return nn.Sequential(*layers[:num_layers])


class VGG19(nn.Module):
    """Frozen VGG19 feature extractor (torchvision layout).

    Args:
        pretrained (str, optional): Path of a torchvision-format VGG19 state
            dict (keys ``features.N.weight`` / ``features.N.bias``; the
            ``classifier.*`` keys of a full VGG19 file and any deeper
            ``features`` layers are ignored). ``None``: random initialisation
            and a one-time warning. Nothing is ever downloaded.
        layers (Sequence[str]): Activations to return, in forward order.
            Defaults to the release's ``relu1_1 ... relu5_1``.
        requires_grad (bool): Train the VGG weights. Defaults to False
            (frozen; the module then also stays in eval mode).

    The parameters are stored as ``features.N.*`` exactly like torchvision's
    ``vgg19().features`` (truncated after the last requested layer).
    """

    def __init__(self,
                 pretrained: Optional[str] = None,
                 layers: Sequence[str] = ('relu1_1', 'relu2_1', 'relu3_1',
                                          'relu4_1', 'relu5_1'),
                 requires_grad: bool = False) -> None:
        super().__init__()
        unknown = [n for n in layers if n not in VGG19_LAYER_IDS]
        if unknown:
            raise ValueError(f'unknown VGG19 layers {unknown}; choose from '
                             f'{list(VGG19_LAYER_IDS)}')
        ids = [VGG19_LAYER_IDS[n] for n in layers]
        if ids != sorted(ids) or len(set(ids)) != len(ids):
            raise ValueError(f'layers must be distinct and in forward order, '
                             f'got {list(layers)}')
        self.layer_names = tuple(layers)
        self.layer_ids = tuple(ids)
        self.features = _make_vgg19_features(ids[-1] + 1)
        self.pretrained = pretrained
        self.requires_grad = requires_grad
        self.load_pretrained()
        if not requires_grad:
            for p in self.parameters():
                p.requires_grad_(False)
            super().train(False)

    def load_pretrained(self) -> None:
        """(Re)load ``self.pretrained`` into the network, or warn once."""
        if self.pretrained is None:
            print_once_warning(
                'VGG19 (perceptual loss) has no pretrained weights '
                '(pretrained=None): it is randomly initialised, so the '
                'perceptual loss is NOT the published one. Pass the path of '
                "torchvision's vgg19-dcbb9e9d.pth as `pretrained`.",
                key='mmlwgan.VGG19.random')
            return
        state = load_state_dict_file(self.pretrained)
        own = self.state_dict()
        new_state = OrderedDict()
        for key, val in own.items():
            candidates = (key, key[len('features.'):])
            found = next((c for c in candidates if c in state), None)
            if found is None:
                raise KeyError(
                    f'{self.pretrained} is not a VGG19 state dict in '
                    f"torchvision's format: key '{key}' is missing")
            src = state[found]
            if tuple(src.shape) != tuple(val.shape):
                raise ValueError(
                    f"{self.pretrained}: '{key}' has shape "
                    f'{tuple(src.shape)}, expected {tuple(val.shape)}')
            new_state[key] = src
        self.load_state_dict(new_state, strict=True)

    def init_weights(self) -> None:
        """Reload the pretrained weights (called by mmengine after a parent's
        initialisers ran, so those never overwrite the VGG weights)."""
        self.load_pretrained()

    def train(self, mode: bool = True) -> 'VGG19':
        """Keep a frozen VGG in eval mode."""
        return super().train(mode and self.requires_grad)

    def forward(self, x: Tensor) -> List[Tensor]:
        """Return the requested activations of ``x`` (B, 3, H, W), already
        normalised as the weights expect, as a list in forward order."""
        outs = []
        want = set(self.layer_ids)
        n = len(self.features)
        for i, layer in enumerate(self.features):
            x = layer(x)
            if i in want:
                # a conv output is followed by an in-place ReLU: keep a copy
                nxt = self.features[i + 1] if i + 1 < n else None
                in_place = isinstance(nxt, nn.ReLU) and nxt.inplace
                outs.append(x.clone() if in_place else x)
        return outs


@MODELS.register_module()
class PerceptualLoss(nn.Module):
    """VGG19 perceptual loss (the release's ``VGGLoss``).

    ``loss = loss_weight * sum_i w_i * mean|phi_i(pred) - phi_i(target)|``,
    ``phi_i`` the VGG19 activations; target features carry no gradient.

    Args:
        loss_weight (float): Multiplier. Defaults to 1.0 (the release's
            ``lambda_tsf`` is 10; see
            ``configs/_base_/models/lwgan_losses.py``).
        layer_weights (dict[str, float], optional): Layer name -> weight.
            Defaults to the release's ``relu1_1: 1/32, relu2_1: 1/16,
            relu3_1: 1/8, relu4_1: 1/4, relu5_1: 1``.
        pretrained (str, optional): Local path of the VGG19 weights
            (torchvision format); None: random init + one warning.
        input_norm (str): ``'imagenet'`` (default): inputs in ``[-1, 1]`` are
            mapped to ``[0, 1]`` and ImageNet-normalised before the VGG.
            ``'none'``: fed as they are, exactly like the release.
        criterion (str): ``'l1'`` (release) or ``'mse'``.
        loss_name (str): Key of the loss in the loss dict. Must contain
            ``'loss'`` to be summed by mmengine. Defaults to
            ``'loss_perceptual'``.

    Shapes:
        forward(pred (B, 3, H, W), target (B, 3, H, W)) -> scalar tensor.
    """

    def __init__(self,
                 loss_weight: float = 1.0,
                 layer_weights: Optional[Dict[str, float]] = None,
                 pretrained: Optional[str] = None,
                 input_norm: str = 'imagenet',
                 criterion: str = 'l1',
                 loss_name: str = 'loss_perceptual') -> None:
        super().__init__()
        if layer_weights is None:
            layer_weights = OrderedDict(
                relu1_1=1.0 / 32, relu2_1=1.0 / 16, relu3_1=1.0 / 8,
                relu4_1=1.0 / 4, relu5_1=1.0)
        names = sorted(layer_weights, key=lambda n: VGG19_LAYER_IDS.get(n, -1))
        if input_norm not in ('imagenet', 'none'):
            raise ValueError(f"input_norm must be 'imagenet' or 'none', got "
                             f'{input_norm!r}')
        if criterion not in ('l1', 'mse'):
            raise ValueError(f"criterion must be 'l1' or 'mse', got "
                             f'{criterion!r}')
        self.loss_weight = float(loss_weight)
        self.layer_weights = OrderedDict(
            (n, float(layer_weights[n])) for n in names)
        self.input_norm = input_norm
        self.criterion = criterion
        self._loss_name = loss_name
        self.vgg = VGG19(pretrained=pretrained, layers=names)
        self.register_buffer('mean', torch.tensor(IMAGENET_MEAN).view(
            1, 3, 1, 1), persistent=False)
        self.register_buffer('std', torch.tensor(IMAGENET_STD).view(
            1, 3, 1, 1), persistent=False)

    @property
    def loss_name(self) -> str:
        return self._loss_name

    def init_weights(self) -> None:
        """Reload the VGG weights (see :meth:`VGG19.init_weights`)."""
        self.vgg.init_weights()

    def normalize(self, x: Tensor) -> Tensor:
        """Map a ``[-1, 1]`` image to the VGG's input space."""
        if self.input_norm == 'none':
            return x
        mean = self.mean.to(x.dtype)
        std = self.std.to(x.dtype)
        return ((x + 1.0) * 0.5 - mean) / std

    def forward(self, pred: Tensor, target: Tensor) -> Tensor:
        """Weighted feature distance; gradients flow into ``pred`` only."""
        if pred.shape != target.shape:
            raise ValueError(f'pred {tuple(pred.shape)} and target '
                             f'{tuple(target.shape)} differ in shape')
        feats_pred = self.vgg(self.normalize(pred))
        with torch.no_grad():
            feats_target = self.vgg(self.normalize(target.detach()))
        loss = pred.new_zeros((), dtype=torch.float32)
        dist = F.l1_loss if self.criterion == 'l1' else F.mse_loss
        for w, fp, ft in zip(self.layer_weights.values(), feats_pred,
                             feats_target):
            loss = loss + w * dist(fp.float(), ft.float())
        return loss * self.loss_weight
