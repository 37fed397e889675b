# Copyright (c) mmlwgan contributors. All rights reserved.
"""SphereFace-20a, the face-identity network of the Liquid Warping GAN loss.

The 20-layer SphereFace network (Liu et al., "SphereFace: Deep Hypersphere
Embedding for Face Recognition", CVPR 2017; PyTorch port
``sphere20a_20171020.pth``) as the release's face loss uses it:

* input: a face crop of **112 x 96** (height x width) RGB;
* four stages; each starts with a stride-2 3x3 convolution + PReLU
  (``convK_1`` / ``reluK_1``) followed by 1, 2, 4 and 1 residual units
  ``x + PReLU(conv(PReLU(conv(x))))`` (every convolution 3x3 with bias, every
  PReLU per channel): 64 @ 56x48, 128 @ 28x24, 256 @ 14x12, 512 @ 7x6;
* ``fc5``: a linear layer from the flattened 512 x 7 x 6 map to the 512-d
  identity embedding.

:meth:`SphereFace20a.forward` returns the four stage outputs and the
embedding: the five terms of the release's face loss (mean absolute
difference per sample, averaged; weight 5 in training).

**Input normalisation.** The original SphereFace was trained on aligned BGR
faces normalised as ``(x - 127.5) / 128``. The LWGAN release feeds its RGB
images in ``[-1, 1]`` (``x / 255 * 2 - 1``) *directly*, without any channel
swap or re-normalisation: head boxes are cut from the 256 x 256 images (from
the projected COCO-plus joints) and resized to 112 x 96 with
``F.interpolate(..., mode='bilinear', align_corners=True)``. To reproduce the
release, give this network RGB crops in ``[-1, 1]``.

State-dict names are the release's (``official_checkpoints/sphere20a.txt``,
62 tensors, 22,670,656 values); the original file's ``fc6`` classifier is
not part of the network (:func:`mmlwgan.models.converters.sphereface.
convert_sphereface` drops it).
"""
from typing import List, Optional, Sequence, Tuple, Union

import torch.nn as nn
from mmengine.logging import print_log
from mmengine.model import BaseModule
from torch import Tensor

from mmlwgan.registry import MODELS
from mmlwgan.utils.logging import print_once_warning

__all__ = ['SphereFace20a', 'SPHEREFACE_INPUT_SIZE']

#: (height, width) of the face crops SphereFace-20a takes.
SPHEREFACE_INPUT_SIZE = (112, 96)

# (channels, number of residual units) of each stage.
_STAGES = ((64, 1), (128, 2), (256, 4), (512, 1))


@MODELS.register_module()
class SphereFace20a(BaseModule):
    """SphereFace-20a feature extractor (frozen by default).

    Args:
        in_channels (int): Input channels. Defaults to 3.
        embed_dim (int): Size of the ``fc5`` embedding. Defaults to 512.
        input_size (Sequence[int]): (H, W) of the input crops; ``fc5`` is
            sized for it. Defaults to (112, 96).
        pretrained (str, optional): Path of the weights (the original
            ``sphere20a_20171020.pth`` or a converted checkpoint; ``fc6`` and
            ``module.`` prefixes are handled). Loaded at construction; never
            downloaded. Without it the network is random and a warning is
            logged once.
        frozen (bool): Freeze the parameters and keep eval mode (gradients
            still flow to the input). Defaults to True.
        init_cfg (dict | list[dict], optional): ``dict(type='Pretrained',
            checkpoint=PATH)`` is the same as ``pretrained=PATH``.

    Examples:
        >>> net = SphereFace20a()
        >>> feats, emb = net(torch.rand(2, 3, 112, 96) * 2 - 1)
        >>> [f.shape[1:] for f in feats], emb.shape
        ([torch.Size([64, 56, 48]), torch.Size([128, 28, 24]),
          torch.Size([256, 14, 12]), torch.Size([512, 7, 6])],
         torch.Size([2, 512]))
    """

    def __init__(self,
                 in_channels: int = 3,
                 embed_dim: int = 512,
                 input_size: Sequence[int] = SPHEREFACE_INPUT_SIZE,
                 pretrained: Optional[str] = None,
                 frozen: bool = True,
                 init_cfg: Optional[Union[dict, List[dict]]] = None) -> None:
        cfgs = [] if init_cfg is None else (
            [init_cfg] if isinstance(init_cfg, dict) else list(init_cfg))
        ckpts = [c.get('checkpoint') for c in cfgs
                 if c.get('type') == 'Pretrained']
        others = [c for c in cfgs if c.get('type') != 'Pretrained']
        if pretrained is not None:
            ckpts.append(pretrained)
        ckpts = [c for c in ckpts if c]
        if len(ckpts) > 1:
            raise ValueError('give the SphereFace weights once, got '
                             f'{ckpts}')
        super().__init__(init_cfg=others or None)
        self.input_size = (int(input_size[0]), int(input_size[1]))
        self.stage_layers: List[List[str]] = []
        in_ch = in_channels
        h, w = self.input_size
        for stage, (ch, num_units) in enumerate(_STAGES, start=1):
            names = []
            for idx in range(1, 2 + 2 * num_units):
                conv = nn.Conv2d(
                    in_ch, ch, 3, stride=2 if idx == 1 else 1, padding=1)
                self.add_module(f'conv{stage}_{idx}', conv)
                self.add_module(f'relu{stage}_{idx}', nn.PReLU(ch))
                names.append(f'{stage}_{idx}')
                in_ch = ch
            self.stage_layers.append(names)
            h, w = (h + 1) // 2, (w + 1) // 2
        self.feat_hw = (h, w)
        self.fc5 = nn.Linear(in_ch * h * w, embed_dim)
        self.checkpoint = ckpts[0] if ckpts else None
        self.frozen = frozen
        if self.checkpoint is None:
            print_once_warning(
                'SphereFace20a has no pretrained weights (pretrained=None): '
                'it is initialised randomly, so the face identity loss is '
                'not meaningful. Give `pretrained=` the sphere20a weights.',
                key='mmlwgan.SphereFace20a.random')
        else:
            self.load_pretrained(self.checkpoint)
        if frozen:
            for param in self.parameters():
                param.requires_grad_(False)
            self.train(False)

    def load_pretrained(self, path: str, strict: bool = True) -> None:
        """Load weights from a local file (raw, wrapped or original)."""
        from mmlwgan.models.converters.sphereface import convert_sphereface
        self.load_state_dict(convert_sphereface(
            _read_local_state_dict(path)), strict=strict)
        print_log(f'SphereFace20a: loaded weights from {path}',
                  logger='current')

    def init_weights(self) -> None:
        """(Re)load the pretrained weights (undoing a parent's initialisers,
        which mmengine applies to every sub-module first), else initialise
        randomly."""
        if self.checkpoint is not None:
            # ``_is_init`` stays False: a parent always calls this again.
            self.load_pretrained(self.checkpoint)
            return
        super().init_weights()

    def train(self, mode: bool = True) -> 'SphereFace20a':
        """Set the training mode; a frozen network stays in eval mode."""
        return super().train(False if self.frozen else mode)

    def _unit(self, x: Tensor, name: str) -> Tensor:
        conv = getattr(self, 'conv' + name)
        act = getattr(self, 'relu' + name)
        return act(conv(x))

    def forward(self, x: Tensor) -> Tuple[List[Tensor], Tensor]:
        """Extract the face-identity features.

        Args:
            x (Tensor): Face crops (B, 3, 112, 96), RGB in ``[-1, 1]`` (see
                the module docstring).

        Returns:
            tuple: ``feats``, the four stage outputs (B, 64, 56, 48),
            (B, 128, 28, 24), (B, 256, 14, 12), (B, 512, 7, 6); and
            ``embedding``, the (B, 512) ``fc5`` output.
        """
        if tuple(x.shape[-2:]) != self.input_size:
            raise ValueError(f'SphereFace20a expects {self.input_size[0]} x '
                             f'{self.input_size[1]} crops, got '
                             f'{tuple(x.shape[-2:])}; resize the head crops '
                             'first')
        feats = []
        for names in self.stage_layers:
            x = self._unit(x, names[0])
            for i in range(1, len(names), 2):
                x = x + self._unit(self._unit(x, names[i]), names[i + 1])
            feats.append(x)
        embedding = self.fc5(x.flatten(1))
        return feats, embedding


def _read_local_state_dict(path: str):
    from mmlwgan.models.converters.hmr import load_raw_state_dict
    return load_raw_state_dict(path)
