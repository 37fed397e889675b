# Copyright (c) mmlwgan contributors. All rights reserved.
"""Face identity loss of the Liquid Warping GAN (SphereFace-20a features).

What the ICCV release does (``svip-lab/impersonator``: ``FaceLoss`` in
``networks/networks.py``, ``cal_head_bbox`` in
``models/impersonator_trainer.py``), and what is kept here:

* **Head box** from HMR's 19 COCO-plus joints of the *target* (reference)
  pose, projected to NDC: joints 12..18 (neck, head top, nose, eyes, ears).
  With ``u = (x + 1) / 2`` and ``v = (y + 1) / 2`` (fractions of the image):
  ``u_min = max(min(u) - 0.05, 0)``, ``u_max = min(max(u) + 0.05, 1)``,
  ``v_min = max(min(v) - 0.05, 0)``, ``v_max = min(max(v), 1)`` (no margin
  below the neck), then ``int(u * W)`` etc. (truncation): the crop is
  ``img[v_min*H : v_max*H, u_min*W : u_max*W]`` (end excluded). The box is
  not squared. The same box (from the target pose) crops both the generated
  and the real target image.
* Each crop is resized to 112 x 96 with ``F.interpolate(bilinear,
  align_corners=True)`` and fed, still in ``[-1, 1]``, to SphereFace-20a
  (frozen, weights ``sphere20a_20171020.pth`` without the ``fc6`` classifier).
* ``loss = sum_i L1(f_i(pred), f_i(target).detach())`` over the five outputs
  (4 stage features + the 512-d ``fc5`` embedding), **unweighted** in the ICCV
  release (``feature_weights=(1, 1, 1, 1, 1)``); iPERCore (the extension)
  weights them ``(1/32, 1/16, 1/8, 1/4, 1)``. The training script multiplies
  it by ``lambda_face = 5``.
* iPERCore skips samples whose box is empty (``min == max``); here such
  samples (and samples whose head joints are all invisible) get zero weight.

Coordinates follow :mod:`mmlwgan.models.body.cameras`: NDC ``[-1, 1]`` spans
the image edge to edge, y down; pixel coordinates are OpenCV's (pixel centres
at integers, the image covers ``[-0.5, W - 0.5]``). A box ``(x1, y1, x2, y2)``
is the continuous extent of the head region: the release's integer crop
``[min_x, max_x)`` is the pixel box ``(min_x - 0.5, ..., max_x - 0.5, ...)``.

The crop is differentiable with respect to the image (``grid_sample``), so the
gradient reaches the generated image; the face network is frozen and the
target branch carries no gradient.
"""
import copy
import inspect
from typing import Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from torch import Tensor

from mmlwgan.registry import MODELS
from mmlwgan.utils.logging import print_once_warning
from .perceptual import load_state_dict_file

__all__ = [
    'FaceIdentityLoss', 'head_boxes_from_keypoints', 'crop_and_resize',
    'COCOPLUS_HEAD_INDICES', 'SMPL_HEAD_INDICES'
]

#: HMR's COCO-plus joints used by the release: neck, head top, nose,
#: left/right eye, left/right ear.
COCOPLUS_HEAD_INDICES = (12, 13, 14, 15, 16, 17, 18)
#: SMPL's 24 joints: neck (12) and head (15). Their box is smaller than the
#: COCO-plus one; raise ``margin`` / ``bottom_margin`` when using them.
SMPL_HEAD_INDICES = (12, 15)

ImageSize = Union[int, Sequence[int]]


def _hw(image_size: ImageSize) -> Tuple[int, int]:
    if isinstance(image_size, int):
        return image_size, image_size
    h, w = image_size
    return int(h), int(w)


def _to_pixel_boxes(boxes: Tensor, image_size: ImageSize,
                    box_format: str) -> Tensor:
    """Boxes (B, 4) xyxy in ``box_format`` -> OpenCV pixel boxes."""
    if box_format == 'pixel':
        return boxes.float()
    if box_format != 'ndc':
        raise ValueError(f"box_format must be 'pixel' or 'ndc', got "
                         f'{box_format!r}')
    h, w = _hw(image_size)
    scale = boxes.new_tensor([w, h, w, h], dtype=torch.float32) / 2.0
    return (boxes.float() + 1.0) * scale - 0.5


def _from_pixel_boxes(boxes: Tensor, image_size: ImageSize,
                      box_format: str) -> Tensor:
    if box_format == 'pixel':
        return boxes
    if box_format != 'ndc':
        raise ValueError(f"box_format must be 'pixel' or 'ndc', got "
                         f'{box_format!r}')
    h, w = _hw(image_size)
    scale = boxes.new_tensor([w, h, w, h]) / 2.0
    return (boxes + 0.5) / scale - 1.0


def _box_validity(boxes_pix: Tensor, min_size: float) -> Tensor:
    finite = torch.isfinite(boxes_pix).all(dim=1)
    bw = boxes_pix[:, 2] - boxes_pix[:, 0]
    bh = boxes_pix[:, 3] - boxes_pix[:, 1]
    return finite & (bw >= min_size) & (bh >= min_size)


@torch.no_grad()
def head_boxes_from_keypoints(kps2d: Tensor,
                              head_indices: Sequence[int] = (
                                  COCOPLUS_HEAD_INDICES),
                              image_size: ImageSize = 256,
                              margin: float = 0.05,
                              bottom_margin: float = 0.0,
                              scale: float = 1.0,
                              square: bool = False,
                              quantize: bool = True,
                              min_size: float = 1.0,
                              box_format: str = 'pixel'
                              ) -> Tuple[Tensor, Tensor]:
    """Head boxes from projected joints, as the release's ``cal_head_bbox``.

    With the defaults this reproduces the release exactly (see the module
    docstring): margins of 5% of the image on the left, right and top, none
    below the lowest joint (the neck), clamped to the image, pixel edges
    truncated to integers.

    Args:
        kps2d (Tensor): (B, K, 2) joints in NDC (x right, y down, [-1, 1]
            spans the image), or (B, K, 3) with a confidence / visibility in
            the last column (joints with a value <= 0 are ignored).
        head_indices (Sequence[int]): Joints that outline the head. Defaults
            to COCO-plus 12..18 (the release); ``SMPL_HEAD_INDICES`` (neck 12,
            head 15) for SMPL joints.
        image_size (int | Sequence[int]): ``H`` or ``(H, W)`` of the image.
        margin (float): Margin added left, right and above, as a fraction of
            the image width / height. Defaults to 0.05 (release).
        bottom_margin (float): Margin below the lowest joint. Defaults to 0.
        scale (float): Scale the box about its centre before clamping.
            Defaults to 1.0 (release).
        square (bool): Grow the shorter side (in pixels) to the longer one
            before clamping. Defaults to False (release).
        quantize (bool): Truncate the pixel edges to integers like the
            release's ``.long()``. Defaults to True.
        min_size (float): Boxes narrower or shorter than this many pixels
            are invalid. Defaults to 1 (the release skips empty boxes).
        box_format (str): ``'pixel'`` (OpenCV pixels) or ``'ndc'``.

    Returns:
        tuple[Tensor, Tensor]: ``boxes`` (B, 4) float ``(x1, y1, x2, y2)``
        in ``box_format`` (zeros where invalid), and ``valid`` (B,) bool:
        False where no head joint is visible, a joint is not finite, or the
        clamped box is degenerate (e.g. the head is outside the image).
    """
    if kps2d.dim() != 3 or kps2d.shape[-1] not in (2, 3):
        raise ValueError(f'kps2d should be (B, K, 2) or (B, K, 3), got '
                         f'{tuple(kps2d.shape)}')
    h, w = _hw(image_size)
    idx = torch.as_tensor(list(head_indices), device=kps2d.device)
    sel = kps2d.index_select(1, idx).float()
    uv = (sel[..., :2] + 1.0) / 2.0  # fractions of the image
    vis = torch.isfinite(uv).all(dim=-1)
    if kps2d.shape[-1] == 3:
        vis = vis & (sel[..., 2] > 0)
    any_vis = vis.any(dim=1)
    inf = torch.full_like(uv, float('inf'))
    lo = torch.where(vis[..., None], uv, inf).amin(dim=1)
    hi = torch.where(vis[..., None], uv, -inf).amax(dim=1)
    lo = torch.where(any_vis[:, None], lo, torch.zeros_like(lo))
    hi = torch.where(any_vis[:, None], hi, torch.zeros_like(hi))
    u0, v0 = lo[:, 0] - margin, lo[:, 1] - margin
    u1, v1 = hi[:, 0] + margin, hi[:, 1] + bottom_margin

    if square or scale != 1.0:
        # work in pixels so that "square" means square on the image
        cx, cy = (u0 + u1) * 0.5 * w, (v0 + v1) * 0.5 * h
        half_w, half_h = (u1 - u0) * 0.5 * w, (v1 - v0) * 0.5 * h
        if square:
            half_w = half_h = torch.maximum(half_w, half_h)
        half_w, half_h = half_w * scale, half_h * scale
        u0, u1 = (cx - half_w) / w, (cx + half_w) / w
        v0, v1 = (cy - half_h) / h, (cy + half_h) / h

    u0, v0 = u0.clamp(0.0, 1.0), v0.clamp(0.0, 1.0)
    u1, v1 = u1.clamp(0.0, 1.0), v1.clamp(0.0, 1.0)
    # pixel edges with the image spanning [0, W] x [0, H]
    edges = torch.stack([u0 * w, v0 * h, u1 * w, v1 * h], dim=1)
    if quantize:
        edges = torch.floor(edges)
    boxes = edges - 0.5  # OpenCV pixel convention
    valid = any_vis & _box_validity(boxes, min_size)
    boxes = torch.where(valid[:, None], boxes, torch.zeros_like(boxes))
    return _from_pixel_boxes(boxes, (h, w), box_format), valid


def crop_and_resize(images: Tensor,
                    boxes: Tensor,
                    out_size: Sequence[int] = (112, 96),
                    box_format: str = 'pixel',
                    align_corners: bool = True) -> Tensor:
    """Differentiable crop-and-resize of one box per image (``grid_sample``).

    Args:
        images (Tensor): (B, C, H, W).
        boxes (Tensor): (B, 4) ``(x1, y1, x2, y2)``: the continuous extent of
            each crop, OpenCV pixels (``box_format='pixel'``) or NDC.
        out_size (Sequence[int]): ``(h, w)`` of the crops. Defaults to
            (112, 96), SphereFace's input.
        box_format (str): ``'pixel'`` or ``'ndc'``.
        align_corners (bool): True (release): the first / last output pixel
            samples the centre of the first / last image pixel inside the
            box, i.e. exactly ``F.interpolate(img[..., y0:y1, x0:x1],
            out_size, mode='bilinear', align_corners=True)`` for integer
            crops. False: output pixels sample the centres of ``out_size``
            equal cells of the box.

    Returns:
        Tensor: (B, C, h, w) crops; outside the image reads 0.
    """
    if images.dim() != 4:
        raise ValueError(f'images should be (B, C, H, W), got '
                         f'{tuple(images.shape)}')
    b, _, h, w = images.shape
    if boxes.shape != (b, 4):
        raise ValueError(f'boxes should be ({b}, 4), got {tuple(boxes.shape)}')
    oh, ow = int(out_size[0]), int(out_size[1])
    bx = _to_pixel_boxes(boxes, (h, w), box_format).to(images.device)
    x1, y1, x2, y2 = bx.unbind(dim=1)
    if align_corners:
        tx = torch.linspace(0.0, 1.0, ow, device=images.device)
        ty = torch.linspace(0.0, 1.0, oh, device=images.device)
        xs = (x1 + 0.5)[:, None] + tx[None] * (x2 - x1 - 1.0)[:, None]
        ys = (y1 + 0.5)[:, None] + ty[None] * (y2 - y1 - 1.0)[:, None]
    else:
        tx = (torch.arange(ow, device=images.device) + 0.5) / ow
        ty = (torch.arange(oh, device=images.device) + 0.5) / oh
        xs = x1[:, None] + tx[None] * (x2 - x1)[:, None]
        ys = y1[:, None] + ty[None] * (y2 - y1)[:, None]
    gx = (2.0 * xs + 1.0) / w - 1.0  # (B, ow)
    gy = (2.0 * ys + 1.0) / h - 1.0  # (B, oh)
    grid = torch.stack(
        [gx[:, None, :].expand(b, oh, ow), gy[:, :, None].expand(b, oh, ow)],
        dim=-1)
    return F.grid_sample(images, grid.to(images.dtype), mode='bilinear',
                         padding_mode='zeros', align_corners=False)


def _accepts_pretrained(net_type) -> bool:
    """Whether the face network's constructor takes ``pretrained``."""
    cls = MODELS.get(net_type) if isinstance(net_type, str) else net_type
    if cls is None:
        return False
    try:
        params = inspect.signature(cls.__init__).parameters
    except (TypeError, ValueError):  # pragma: no cover
        return False
    return 'pretrained' in params


def _flatten_features(out) -> List[Tensor]:
    """``(list of stage features, embedding)`` / list / tensor -> list."""
    if isinstance(out, Tensor):
        return [out]
    feats: List[Tensor] = []
    for item in out:
        if isinstance(item, Tensor):
            feats.append(item)
        else:
            feats.extend(_flatten_features(item))
    return feats


@MODELS.register_module()
class FaceIdentityLoss(nn.Module):
    """Face identity loss on head crops (the release's ``FaceLoss``).

    Args:
        loss_weight (float): Multiplier. Defaults to 1.0 (the release's
            ``lambda_face`` is 5; see
            ``configs/_base_/models/lwgan_losses.py``).
        face_net (dict): Config of the face network, built through
            ``mmlwgan.registry.MODELS``. Defaults to
            ``dict(type='SphereFace20a')``. Its forward must return the
            features to compare: a tensor, a list, or ``(list of stage
            features, embedding)``.
        pretrained (str, optional): Local path of the face network's
            weights (e.g. ``sphere20a_20171020.pth``). Handed to the network
            as ``face_net.pretrained`` when its constructor takes one
            (``SphereFace20a`` does: it converts the release's keys, drops
            ``fc6`` and warns once when random); otherwise loaded here
            (keys starting with ``ignore_prefixes`` dropped, strict match).
            None: random init and a one-time warning, unless ``face_net``
            carries its own ``pretrained`` / ``init_cfg``. Never downloads.
        feature_weights (Sequence[float], optional): One weight per feature.
            Defaults to all ones (ICCV release); iPERCore used
            ``(1/32, 1/16, 1/8, 1/4, 1)``.
        input_size (Sequence[int]): Crop size ``(h, w)``. Defaults to
            (112, 96).
        head_indices (Sequence[int]): Joints used by
            :func:`head_boxes_from_keypoints`. Defaults to COCO-plus 12..18.
        box_cfg (dict, optional): Other keyword arguments of
            :func:`head_boxes_from_keypoints` (margin, bottom_margin, scale,
            square, quantize, min_size).
        box_format (str): Format of the ``boxes`` given to forward:
            ``'pixel'`` (OpenCV pixels, default) or ``'ndc'``.
        crop_align_corners (bool): See :func:`crop_and_resize`. Defaults to
            True (release).
        ignore_prefixes (Sequence[str]): Checkpoint keys to drop. Defaults to
            ``('fc6.',)``.
        loss_name (str): Defaults to ``'loss_face'``.
    """

    def __init__(self,
                 loss_weight: float = 1.0,
                 face_net: Optional[dict] = None,
                 pretrained: Optional[str] = None,
                 feature_weights: Optional[Sequence[float]] = None,
                 input_size: Sequence[int] = (112, 96),
                 head_indices: Sequence[int] = COCOPLUS_HEAD_INDICES,
                 box_cfg: Optional[dict] = None,
                 box_format: str = 'pixel',
                 crop_align_corners: bool = True,
                 ignore_prefixes: Sequence[str] = ('fc6.', ),
                 loss_name: str = 'loss_face') -> None:
        super().__init__()
        if box_format not in ('pixel', 'ndc'):
            raise ValueError(f"box_format must be 'pixel' or 'ndc', got "
                             f'{box_format!r}')
        face_net = copy.deepcopy(face_net) if face_net is not None else dict(
            type='SphereFace20a')
        self.loss_weight = float(loss_weight)
        self.feature_weights = (None if feature_weights is None else tuple(
            float(x) for x in feature_weights))
        self.input_size = (int(input_size[0]), int(input_size[1]))
        self.head_indices = tuple(int(i) for i in head_indices)
        self.box_cfg: Dict = dict(box_cfg or {})
        self.box_format = box_format
        self.crop_align_corners = crop_align_corners
        self.ignore_prefixes = tuple(ignore_prefixes)
        self._loss_name = loss_name
        has_own = (face_net.get('pretrained') is not None
                   or face_net.get('init_cfg') is not None)
        if has_own and pretrained is not None:
            raise ValueError('give the face weights once: either '
                             '`pretrained` or face_net.pretrained/init_cfg')
        if not has_own and _accepts_pretrained(face_net.get('type')):
            # e.g. SphereFace20a: its own loader (release-key conversion,
            # one-time warning when random) handles the weights
            face_net['pretrained'] = pretrained
            has_own = True
            pretrained = None
        # True: the network loads (or warns about) its weights itself
        self._net_loads_itself = has_own
        self.pretrained = pretrained
        self.net = MODELS.build(face_net)
        self.load_pretrained()
        for p in self.net.parameters():
            p.requires_grad_(False)
        self.net.eval()

    @property
    def loss_name(self) -> str:
        return self._loss_name

    def load_pretrained(self) -> None:
        """(Re)load ``self.pretrained`` into the face network, or warn once."""
        if self.pretrained is None:
            if not self._net_loads_itself:
                print_once_warning(
                    'FaceIdentityLoss has no pretrained face network '
                    '(pretrained=None): it is randomly initialised, so the '
                    'face loss is NOT the published one. Pass the path of '
                    'sphere20a_20171020.pth as `pretrained`.',
                    key='mmlwgan.FaceIdentityLoss.random')
            return
        state = load_state_dict_file(self.pretrained)
        state = {
            k: v
            for k, v in state.items()
            if not any(k.startswith(p) for p in self.ignore_prefixes)
        }
        own = self.net.state_dict()
        missing = [k for k in own if k not in state]
        if missing:
            raise KeyError(
                f'{self.pretrained} does not fit {type(self.net).__name__}: '
                f"key '{missing[0]}' is missing ({len(missing)} missing: "
                f'{missing[:5]})')
        unexpected = [k for k in state if k not in own]
        if unexpected:
            raise KeyError(
                f'{self.pretrained} does not fit {type(self.net).__name__}: '
                f"unexpected key '{unexpected[0]}' ({len(unexpected)} "
                f'unexpected: {unexpected[:5]})')
        for k, v in own.items():
            if tuple(state[k].shape) != tuple(v.shape):
                raise ValueError(f"{self.pretrained}: '{k}' has shape "
                                 f'{tuple(state[k].shape)}, expected '
                                 f'{tuple(v.shape)}')
        self.net.load_state_dict(state, strict=True)

    def init_weights(self) -> None:
        """Reload the pretrained face weights (called by mmengine after a
        parent's initialisers ran)."""
        if self._net_loads_itself:
            ckpt = getattr(self.net, 'checkpoint', None)
            if ckpt is not None and hasattr(self.net, 'load_pretrained'):
                self.net.load_pretrained(ckpt)  # e.g. SphereFace20a
            elif hasattr(self.net, 'init_weights'):
                self.net.init_weights()
        self.load_pretrained()

    def train(self, mode: bool = True) -> 'FaceIdentityLoss':
        """The face network always stays in eval mode."""
        super().train(mode)
        self.net.eval()
        return self

    def crop(self, images: Tensor, boxes: Optional[Tensor]) -> Tensor:
        """Crop ``boxes`` (pixel boxes, or None for the whole image) to
        ``input_size``."""
        if boxes is None:
            if tuple(images.shape[-2:]) == self.input_size:
                return images
            return F.interpolate(images, size=self.input_size,
                                 mode='bilinear', align_corners=True)
        return crop_and_resize(images, boxes, self.input_size, 'pixel',
                               self.crop_align_corners)

    def _boxes(self, boxes: Optional[Tensor], keypoints: Optional[Tensor],
               hw: Tuple[int, int], batch: int,
               device) -> Tuple[Optional[Tensor], Tensor]:
        if keypoints is not None:
            cfg = dict(self.box_cfg)
            cfg['box_format'] = 'pixel'
            return head_boxes_from_keypoints(keypoints, self.head_indices, hw,
                                             **cfg)
        if boxes is not None:
            if boxes.shape != (batch, 4):
                raise ValueError(f'boxes should be ({batch}, 4), got '
                                 f'{tuple(boxes.shape)}')
            pix = _to_pixel_boxes(boxes.detach(), hw, self.box_format)
            return pix, _box_validity(pix, self.box_cfg.get('min_size', 1.0))
        return None, torch.ones(batch, dtype=torch.bool, device=device)

    def forward(self,
                pred: Tensor,
                target: Tensor,
                boxes: Optional[Tensor] = None,
                keypoints: Optional[Tensor] = None,
                target_boxes: Optional[Tensor] = None,
                weight: Optional[Tensor] = None) -> Tensor:
        """Face identity loss between head crops of ``pred`` and ``target``.

        Args:
            pred (Tensor): Generated images (B, 3, H, W) in [-1, 1].
            target (Tensor): Real images (B, 3, H, W) in [-1, 1]; no
                gradient flows into them.
            boxes (Tensor, optional): (B, 4) head boxes ``(x1, y1, x2, y2)``
                in ``box_format``; used for ``pred`` and, unless
                ``target_boxes`` is given, for ``target`` (release).
            keypoints (Tensor, optional): (B, K, 2|3) NDC joints of the
                target pose; boxes from :func:`head_boxes_from_keypoints`
                (release). Takes precedence over ``boxes``.
            target_boxes (Tensor, optional): Separate boxes for ``target``
                in ``box_format``.
            weight (Tensor, optional): (B,) per-sample weights.

            With neither boxes nor keypoints, whole images are resized.

        Returns:
            Tensor: scalar ``loss_weight * sum_b(w_b * d_b) / n_valid`` with
            ``d_b = sum_i fw_i * mean|f_i(pred_b) - f_i(target_b)|`` over
            the valid samples (0 when none is valid).
        """
        if pred.shape != target.shape:
            raise ValueError(f'pred {tuple(pred.shape)} and target '
                             f'{tuple(target.shape)} differ in shape')
        b, hw = pred.shape[0], tuple(pred.shape[-2:])
        pboxes, valid = self._boxes(boxes, keypoints, hw, b, pred.device)
        tboxes = pboxes
        if target_boxes is not None:
            tboxes, tvalid = self._boxes(target_boxes, None, hw, b,
                                         pred.device)
            valid = valid & tvalid
        w = valid.to(torch.float32)
        if weight is not None:
            w = w * weight.detach().reshape(-1).to(w)
        idx = torch.nonzero(valid, as_tuple=False).reshape(-1)
        if idx.numel() == 0:
            return pred.sum() * 0.0

        sel = (lambda t: None if t is None else t.index_select(0, idx))
        crops_pred = self.crop(pred.index_select(0, idx), sel(pboxes))
        feats_pred = _flatten_features(self.net(crops_pred))
        with torch.no_grad():
            crops_tgt = self.crop(target.detach().index_select(0, idx),
                                  sel(tboxes))
            feats_tgt = _flatten_features(self.net(crops_tgt))
        fw = self.feature_weights or (1.0, ) * len(feats_pred)
        if len(fw) != len(feats_pred) or len(feats_tgt) != len(feats_pred):
            raise ValueError(
                f'the face network returned {len(feats_pred)} features but '
                f'feature_weights has {len(fw)} entries')
        per_sample = 0.0
        for wi, fp, ft in zip(fw, feats_pred, feats_tgt):
            diff = (fp.float() - ft.float()).abs().flatten(1).mean(dim=1)
            per_sample = per_sample + wi * diff
        loss = (w.index_select(0, idx) * per_sample).sum() / idx.numel()
        return loss * self.loss_weight
