# Copyright (c) mmlwgan contributors. All rights reserved.
"""Feature networks of the evaluation metrics, built offline.

Nothing is downloaded: each network is built with no weights and, when the
user gives ``pretrained`` (a local path, or a list of paths whose state
dicts are merged), loaded from it. A weights file that lacks a key the
network needs raises :class:`PretrainedKeyError` naming the keys. Without
``pretrained`` the network keeps its random initialisation, a warning is
logged once, and ``is_pretrained`` is False; the metrics then label their
results as not comparable to published numbers (see
:mod:`mmlwgan.evaluation.metrics`).

- :class:`LPIPSNet`: the ``lpips`` package's network (v0.1): input scaling
  layer, AlexNet or VGG-16 feature slices and the 1 x 1 "linear" layers, with
  the package's state-dict names (``net.slice1.0.weight``,
  ``lin0.model.1.weight``, ...). torchvision's AlexNet / VGG-16 checkpoints
  (``features.N.weight``) are recognised too, so
  ``pretrained=['alexnet-owt-7be5be79.pth', 'lpips/weights/v0.1/alex.pth']``
  works.
- :class:`InceptionV3Classifier`: torchvision's Inception-v3 (``weights=None,
  aux_logits=False, init_weights=False``) for the Inception score, loaded
  from torchvision's ImageNet checkpoint (``inception_v3_google-*.pth``, the
  one the release used; ``AuxLogits.*`` keys are ignored). Inputs in [-1, 1]
  are fed directly, as the release did.
- :class:`ReIDResNet`: the person re-identification network of FReID, a
  torchvision ResNet (50 by default) whose global average pooled features
  (2048-d) are L2-normalised. Its weights come from a person re-id training
  of a plain ResNet-50, e.g. the ``ft_ResNet50`` model of
  layumi/Person_reID_baseline_pytorch (``model.*`` keys; the ``classifier.*``
  head is ignored) or any torchvision-layout state dict. The release's PCB
  part-based network is not reimplemented, so FReID values are comparable to
  each other but not exactly to the paper's table.
"""
import os
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Union

import torch
import torch.nn.functional as F
from mmengine.logging import print_log
from torch import Tensor, nn

from mmlwgan.utils import print_once_warning
from mmlwgan.utils.safe_pickle import load_torch_file
from .functional.lpips import lpips_distance

PathLike = Union[str, os.PathLike]
Pretrained = Optional[Union[PathLike, Sequence[PathLike]]]


class PretrainedKeyError(KeyError):
    """A weights file lacks keys that the network needs."""

    def __str__(self) -> str:  # KeyError would print the message's repr
        return str(self.args[0]) if self.args else ''


def _read_state_dict(path: PathLike, name: str) -> Dict[str, Tensor]:
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(
            f'{name}: weights file {path!r} does not exist (mmlwgan downloads '
            'nothing; give the path of a local file).')
    ckpt = load_torch_file(path)
    if isinstance(ckpt, dict) and isinstance(ckpt.get('state_dict'), dict):
        ckpt = ckpt['state_dict']
    if not isinstance(ckpt, dict):
        raise TypeError(f'{name}: {path!r} does not hold a state dict.')
    out = {}
    for k, v in ckpt.items():
        if k.startswith('module.'):
            k = k[len('module.'):]
        out[k] = v
    return out


def load_pretrained(module: nn.Module,
                    pretrained: Pretrained,
                    name: str,
                    convert: Optional[Callable[[Dict[str, Tensor]],
                                               Dict[str, Tensor]]] = None,
                    optional: Callable[[str], bool] = lambda k: False,
                    ignore: Callable[[str], bool] = lambda k: False) -> None:
    """Load one or several state-dict files into ``module``, strictly.

    Args:
        module (nn.Module): the network.
        pretrained (path | list of paths): files whose state dicts are merged
            (later files win).
        name (str): the network's name, for messages.
        convert (Callable, optional): maps a file's state dict to the
            module's key names.
        optional (Callable): keys of the module that may be absent.
        ignore (Callable): keys of the files that are dropped silently.

    Raises:
        FileNotFoundError: a path does not exist.
        PretrainedKeyError: keys the module needs are missing.
        ValueError: a tensor has the wrong shape.
    """
    if isinstance(pretrained, (str, os.PathLike)):
        paths = [pretrained]
    else:
        paths = list(pretrained)
    state: Dict[str, Tensor] = {}
    for path in paths:
        sd = _read_state_dict(path, name)
        if convert is not None:
            sd = convert(sd)
        state.update({k: v for k, v in sd.items() if not ignore(k)})
    expected = module.state_dict()
    missing = [k for k in expected if k not in state and not optional(k)]
    if missing:
        shown = ', '.join(missing[:8]) + (
            f', ... ({len(missing)} in all)' if len(missing) > 8 else '')
        raise PretrainedKeyError(
            f'{name}: the weights in {[os.fspath(p) for p in paths]} lack '
            f'{len(missing)} key(s) that the network needs: {shown}. '
            f'Expected keys such as {list(expected)[:3]}.')
    unexpected = [k for k in state if k not in expected]
    if unexpected:
        print_log(f'{name}: ignoring {len(unexpected)} unexpected key(s) in '
                  f'the weights: {unexpected[:8]}', logger='current',
                  level=30)
    bad = [(k, tuple(state[k].shape), tuple(v.shape))
           for k, v in expected.items()
           if k in state and tuple(state[k].shape) != tuple(v.shape)]
    if bad:
        raise ValueError(
            f'{name}: shape mismatch (key, file, network): {bad[:8]}')
    module.load_state_dict({k: v for k, v in state.items() if k in expected},
                           strict=False)


def _warn_random(name: str, metric: str) -> None:
    print_once_warning(
        f'{name} was built without pretrained weights and is initialised '
        f'randomly: {metric} values are NOT comparable to published numbers '
        '(the metric keys get the suffix "_randinit"). Give `pretrained=` '
        'the path of the weights.', key=f'mmlwgan.evaluation.{name}')


def _freeze(module: nn.Module) -> None:
    module.requires_grad_(False)
    module.eval()


# --------------------------------------------------------------------------
# LPIPS
# --------------------------------------------------------------------------

# torchvision's ``features`` layers: ('C', in, out, kernel, stride, pad),
# 'R' ReLU, ('M', kernel, stride) max pooling.
_ALEX_LAYERS = [('C', 3, 64, 11, 4, 2), 'R', ('M', 3, 2),
                ('C', 64, 192, 5, 1, 2), 'R', ('M', 3, 2),
                ('C', 192, 384, 3, 1, 1), 'R', ('C', 384, 256, 3, 1, 1), 'R',
                ('C', 256, 256, 3, 1, 1), 'R']
_ALEX_SLICES = [(0, 2), (2, 5), (5, 8), (8, 10), (10, 12)]


def _vgg16_layers() -> List:
    layers: List = []
    cin = 3
    for v in [64, 64, 'M', 128, 128, 'M', 256, 256, 256, 'M', 512, 512, 512,
              'M', 512, 512, 512]:
        if v == 'M':
            layers.append(('M', 2, 2))
        else:
            layers += [('C', cin, v, 3, 1, 1), 'R']
            cin = v
    return layers


_VGG_LAYERS = _vgg16_layers()
_VGG_SLICES = [(0, 4), (4, 9), (9, 16), (16, 23), (23, 30)]

_LPIPS_ARCHS = {
    'alex': (_ALEX_LAYERS, _ALEX_SLICES, [64, 192, 384, 256, 256]),
    'vgg': (_VGG_LAYERS, _VGG_SLICES, [64, 128, 256, 512, 512]),
}


def _make_layer(spec) -> nn.Module:
    if spec == 'R':
        return nn.ReLU(inplace=False)
    if spec[0] == 'M':
        return nn.MaxPool2d(kernel_size=spec[1], stride=spec[2])
    _, cin, cout, k, s, p = spec
    return nn.Conv2d(cin, cout, k, stride=s, padding=p)


class LPIPSBackbone(nn.Module):
    """AlexNet / VGG-16 features cut into the ``lpips`` package's 5 slices.

    Layer indices are torchvision's, so the keys are
    ``slice1.0.weight`` ... ``slice5.10.weight`` (AlexNet).
    """

    def __init__(self, arch: str = 'alex') -> None:
        super().__init__()
        layers, slices, _ = _LPIPS_ARCHS[arch]
        for k, (start, stop) in enumerate(slices):
            seq = nn.Sequential()
            for i in range(start, stop):
                seq.add_module(str(i), _make_layer(layers[i]))
            setattr(self, f'slice{k + 1}', seq)
        self.num_slices = len(slices)

    def forward(self, x: Tensor) -> List[Tensor]:
        outs = []
        for k in range(self.num_slices):
            x = getattr(self, f'slice{k + 1}')(x)
            outs.append(x)
        return outs


class ScalingLayer(nn.Module):
    """The ``lpips`` input scaling ``(x - shift) / scale``, x in [-1, 1]."""

    def __init__(self) -> None:
        super().__init__()
        self.register_buffer(
            'shift', torch.tensor([-.030, -.088, -.188])[None, :, None, None])
        self.register_buffer(
            'scale', torch.tensor([.458, .448, .450])[None, :, None, None])

    def forward(self, x: Tensor) -> Tensor:
        return (x - self.shift) / self.scale


class NetLinLayer(nn.Module):
    """1 x 1 convolution to one channel, no bias (after a dropout layer when
    ``use_dropout``, as in the ``lpips`` package: ``model.1.weight``)."""

    def __init__(self, chn_in: int, use_dropout: bool = True) -> None:
        super().__init__()
        layers: List[nn.Module] = [nn.Dropout()] if use_dropout else []
        layers.append(nn.Conv2d(chn_in, 1, 1, stride=1, padding=0, bias=False))
        self.model = nn.Sequential(*layers)

    def forward(self, x: Tensor) -> Tensor:
        return self.model(x)


class LPIPSNet(nn.Module):
    """The LPIPS network (``lpips`` v0.1, ``lpips=True, spatial=False``).

    Args:
        net (str): ``'alex'`` (the release's choice) or ``'vgg'``.
        pretrained (path | list of paths, optional): state dict(s) with the
            ``lpips`` key names (``net.slice1.0.weight``,
            ``lin0.model.1.weight``, ...) or torchvision's backbone names
            (``features.0.weight``). Without it the backbone is random and
            the linear layers average the channels (the weights are 1 / C),
            so the distance is still >= 0 and symmetric.
        use_dropout (bool): Keep the package's dropout in the linear layers
            (only changes the key names; the network is always in eval
            mode).
    """

    def __init__(self, net: str = 'alex', pretrained: Pretrained = None,
                 use_dropout: bool = True) -> None:
        super().__init__()
        if net in ('vgg16', ):
            net = 'vgg'
        if net not in _LPIPS_ARCHS:
            raise ValueError(f'LPIPSNet: net must be one of '
                             f'{sorted(_LPIPS_ARCHS)}, got {net!r}.')
        self.arch = net
        self.use_dropout = use_dropout
        self.chns = _LPIPS_ARCHS[net][2]
        self.scaling_layer = ScalingLayer()
        self.net = LPIPSBackbone(net)
        for k, c in enumerate(self.chns):
            setattr(self, f'lin{k}', NetLinLayer(c, use_dropout))
        self.is_pretrained = bool(pretrained)
        if pretrained:
            load_pretrained(
                self, pretrained, f'LPIPSNet({net!r})',
                convert=self._convert,
                optional=lambda k: k.startswith('scaling_layer.'),
                ignore=lambda k: k.startswith('classifier.'))
        else:
            for k, c in enumerate(self.chns):
                nn.init.constant_(self.lins[k].model[-1].weight, 1. / c)
            _warn_random(f'LPIPSNet({net!r})', 'LPIPS')
        _freeze(self)

    def _convert(self, sd: Dict[str, Tensor]) -> Dict[str, Tensor]:
        """torchvision ``features.i.*`` -> ``net.sliceK.i.*``; the linear
        layers' Sequential index follows ``use_dropout``."""
        slices = _LPIPS_ARCHS[self.arch][1]
        lin_idx = '1' if self.use_dropout else '0'
        out = {}
        for key, v in sd.items():
            parts = key.split('.')
            if parts[0] == 'features' and len(parts) == 3:
                i = int(parts[1])
                k = [n for n, (a, b) in enumerate(slices) if a <= i < b]
                if not k:
                    continue  # a layer after the last slice
                key = f'net.slice{k[0] + 1}.{i}.{parts[2]}'
            elif (len(parts) == 4 and parts[0].startswith('lin')
                  and parts[1] == 'model' and parts[2] in ('0', '1')):
                key = f'{parts[0]}.model.{lin_idx}.{parts[3]}'
            out[key] = v
        return out

    @property
    def lins(self) -> List[NetLinLayer]:
        return [getattr(self, f'lin{k}') for k in range(len(self.chns))]

    def train(self, mode: bool = True) -> 'LPIPSNet':
        """Stay in eval mode (dropout off)."""
        return super().train(False)

    def features(self, x: Tensor) -> List[Tensor]:
        """Backbone activations of images ``x`` (N, 3, H, W) in [-1, 1]."""
        return self.net(self.scaling_layer(x))

    def forward(self, img1: Tensor, img2: Tensor,
                normalize: bool = False) -> Tensor:
        """(N,) LPIPS distances; see :func:`~.functional.lpips_distance`."""
        return lpips_distance(self, img1, img2, normalize=normalize)


# --------------------------------------------------------------------------
# Inception-v3 (Inception score)
# --------------------------------------------------------------------------


class InceptionV3Classifier(nn.Module):
    """torchvision's Inception-v3 returning the 1000 ImageNet logits.

    Args:
        pretrained (path, optional): torchvision's Inception-v3 checkpoint
            (``inception_v3_google-0cc3c7bd.pth``, torchvision key names;
            ``AuxLogits.*`` keys are ignored).
        resize (int, optional): Inputs are resized (bilinear,
            ``align_corners=False``) to ``resize x resize`` first, 299 as in
            the release; None keeps the input size (at least 75 px).
    """

    def __init__(self, pretrained: Pretrained = None,
                 resize: Optional[int] = 299) -> None:
        super().__init__()
        from torchvision.models import inception_v3
        self.inception = inception_v3(
            weights=None, aux_logits=False, init_weights=False,
            transform_input=False)
        self.resize = resize
        self.is_pretrained = bool(pretrained)
        if pretrained:
            load_pretrained(
                self.inception, pretrained, 'InceptionV3Classifier',
                optional=lambda k: k.endswith('num_batches_tracked'),
                ignore=lambda k: k.startswith('AuxLogits.'))
        else:
            _warn_random('InceptionV3Classifier', 'IS')
        _freeze(self)

    def train(self, mode: bool = True) -> 'InceptionV3Classifier':
        return super().train(False)

    def forward(self, x: Tensor) -> Tensor:
        """Logits (N, 1000) of images (N, 3, H, W) in [-1, 1].

        As in the release, the [-1, 1] images go straight into the network
        (torchvision's ``transform_input`` is off); the release's images
        were also in [-1, 1].
        """
        if self.resize and tuple(x.shape[-2:]) != (self.resize, self.resize):
            x = F.interpolate(x, size=(self.resize, self.resize),
                              mode='bilinear', align_corners=False)
        return self.inception(x)


# --------------------------------------------------------------------------
# Person re-identification network (FReID)
# --------------------------------------------------------------------------


class ReIDResNet(nn.Module):
    """A ResNet person re-id feature extractor (global pooled features).

    Args:
        pretrained (path, optional): re-id weights of a plain ResNet, in
            torchvision's layout (``conv1.weight``, ``layer1.0...``) or with
            a ``model.`` prefix (layumi's ``ft_net``); ``fc.*`` /
            ``classifier.*`` heads are ignored.
        depth (int): 18, 34, 50 (default; 2048-d features) or 101.
        last_stride (int): Stride of the last stage (1 in many re-id
            trainings, 2 in torchvision's ResNet and ``ft_ResNet50``).
        input_size (tuple): (height, width) crops are resized to
            (bilinear, ``align_corners=True``, as the release), (256, 128).
        normalize_feats (bool): L2-normalise the features (the release's
            re-id features were normalised). Defaults to True.
    """

    def __init__(self, pretrained: Pretrained = None, depth: int = 50,
                 last_stride: int = 2, input_size: Sequence[int] = (256, 128),
                 normalize_feats: bool = True) -> None:
        super().__init__()
        from torchvision.models import resnet
        archs = {18: resnet.resnet18, 34: resnet.resnet34,
                 50: resnet.resnet50, 101: resnet.resnet101}
        if depth not in archs:
            raise ValueError(f'ReIDResNet: depth must be one of '
                             f'{sorted(archs)}, got {depth}.')
        backbone = archs[depth](weights=None)
        self.feat_dim = backbone.fc.in_features
        backbone.fc = nn.Identity()
        if last_stride == 1:
            block = backbone.layer4[0]
            if hasattr(block, 'conv3'):  # Bottleneck: stride on conv2
                block.conv2.stride = (1, 1)
            else:
                block.conv1.stride = (1, 1)
            block.downsample[0].stride = (1, 1)
        elif last_stride != 2:
            raise ValueError(f'last_stride must be 1 or 2, got {last_stride}.')
        self.backbone = backbone
        self.input_size = tuple(int(s) for s in input_size)
        self.normalize_feats = normalize_feats
        self.register_buffer(
            'mean', torch.tensor([0.485, 0.456, 0.406])[None, :, None, None],
            persistent=False)
        self.register_buffer(
            'std', torch.tensor([0.229, 0.224, 0.225])[None, :, None, None],
            persistent=False)
        self.is_pretrained = bool(pretrained)
        if pretrained:
            load_pretrained(
                self.backbone, pretrained, f'ReIDResNet(depth={depth})',
                convert=self._convert,
                optional=lambda k: k.endswith('num_batches_tracked'),
                ignore=lambda k: k.startswith(('fc.', 'classifier.')))
        else:
            _warn_random(f'ReIDResNet(depth={depth})', 'FReID')
        _freeze(self)

    @staticmethod
    def _convert(sd: Dict[str, Tensor]) -> Dict[str, Tensor]:
        keys: Iterable[str] = [
            k for k in sd if not k.startswith('classifier.')]
        if keys and all(k.startswith('model.') for k in keys):
            return {(k[len('model.'):] if k.startswith('model.') else k): v
                    for k, v in sd.items()}
        return sd

    def train(self, mode: bool = True) -> 'ReIDResNet':
        return super().train(False)

    def forward(self, x: Tensor) -> Tensor:
        """Features (N, feat_dim) of person crops (N, 3, h, w) in [-1, 1]."""
        x = (x + 1) / 2
        if tuple(x.shape[-2:]) != self.input_size:
            x = F.interpolate(x, size=self.input_size, mode='bilinear',
                              align_corners=True)
        x = (x - self.mean) / self.std
        feats = self.backbone(x)
        if self.normalize_feats:
            norm = feats.norm(p=2, dim=1, keepdim=True)
            feats = feats / norm.clamp_min(1e-12)
        return feats
