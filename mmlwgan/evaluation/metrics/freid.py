# Copyright (c) mmlwgan contributors. All rights reserved.
"""FReID: Fréchet distance of person re-id features (cross-imitation)."""
from typing import Any, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log
from torch import Tensor

from mmlwgan.registry import METRICS
from mmlwgan.utils.logging import print_once_warning
from ..feature_nets import ReIDResNet
from ..functional import feature_stats, frechet_distance
from .metrics_utils import (RANDOM_INIT_SUFFIX, get_sample_field, module_to,
                            prepare_image, warn_if_random)

Box = Tuple[int, int, int, int]


def mask_bbox(mask: Tensor, pad: float = 0.) -> Optional[Box]:
    """Bounding box ``(x0, y0, x1, y1)`` (exclusive ends) of a mask.

    Args:
        mask (Tensor): (1, H, W) or (H, W); pixels > 0.5 count.
        pad (float): Grow the box by this fraction of its height / width on
            each side (clipped to the image).

    Returns:
        tuple or None: the box, or None for an empty mask.
    """
    if mask.dim() == 3:
        mask = mask[0]
    ys, xs = torch.nonzero(mask > 0.5, as_tuple=True)
    if ys.numel() == 0:
        return None
    y0, y1 = int(ys.min()), int(ys.max()) + 1
    x0, x1 = int(xs.min()), int(xs.max()) + 1
    py, px = int(round((y1 - y0) * pad)), int(round((x1 - x0) * pad))
    h, w = mask.shape
    return max(0, x0 - px), max(0, y0 - py), min(w, x1 + px), min(h, y1 + py)


@METRICS.register_module()
class FReIDMetric(BaseMetric):
    """Fréchet distance between re-id features of generated and real people.

    For each sample, the prediction and the ground truth are cropped to the
    bounding box of the rendered target silhouette ``body_mask`` (grown by
    ``bbox_pad``; the whole image when the mask is empty), resized to
    ``input_size`` and passed through a person re-id ResNet
    (:class:`~mmlwgan.evaluation.feature_nets.ReIDResNet`: a ResNet-50 whose
    global pooled 2048-d features are L2-normalised, weights loaded from
    ``pretrained``). A Gaussian is fitted to each set of features and their
    Fréchet distance reported. The release used a PCB re-id network (and
    whole images); PCB is not reimplemented, so values follow the same
    definition but are not numerically comparable to the paper's table.

    Args:
        pretrained (str, optional): Re-id weights for the ResNet (see
            :class:`~mmlwgan.evaluation.feature_nets.ReIDResNet`). Without
            them the network is random, a warning is logged and the key is
            ``FReID_randinit``.
        depth (int): ResNet depth (50 by default).
        last_stride (int): Stride of the last ResNet stage (1 or 2).
        input_size (tuple): (height, width) of the crops, (256, 128).
        crop (str): ``'mask_bbox'`` (default) or ``'full'`` (whole images).
        bbox_pad (float): Fraction of the box size added on each side.
        normalize_feats (bool): L2-normalise the features.
        gt_key (str): Ground-truth (real image) field of the data samples.
        pred_key (str): Prediction field of the data samples.
        mask_key (str): Body-mask field of the data samples.
        collect_device (str): 'cpu' or 'gpu', for distributed collection.
        prefix (str, optional): Prefix of the result keys; defaults to
            :attr:`default_prefix` (none).

    Metrics:
        - FReID (float): Fréchet distance (lower is better); NaN with fewer
          than two samples.
    """
    metric = 'FReID'
    default_prefix: Optional[str] = ''

    def __init__(self,
                 pretrained: Optional[str] = None,
                 depth: int = 50,
                 last_stride: int = 2,
                 input_size: Sequence[int] = (256, 128),
                 crop: str = 'mask_bbox',
                 bbox_pad: float = 0.1,
                 normalize_feats: bool = True,
                 gt_key: str = 'gt_img',
                 pred_key: str = 'pred_img',
                 mask_key: str = 'body_mask',
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if crop not in ('mask_bbox', 'full'):
            raise ValueError(
                f"crop must be 'mask_bbox' or 'full', got {crop!r}.")
        self.net = ReIDResNet(pretrained=pretrained, depth=depth,
                              last_stride=last_stride, input_size=input_size,
                              normalize_feats=normalize_feats)
        self.crop = crop
        self.bbox_pad = bbox_pad
        self.gt_key = gt_key
        self.pred_key = pred_key
        self.mask_key = mask_key
        self.key_suffix = '' if self.net.is_pretrained else RANDOM_INIT_SUFFIX

    def _crop(self, img: Tensor, box: Optional[Box]) -> Tensor:
        if box is not None:
            x0, y0, x1, y1 = box
            img = img[:, y0:y1, x0:x1]
        return F.interpolate(img[None], size=self.net.input_size,
                             mode='bilinear', align_corners=True)

    @torch.no_grad()
    def process(self, data_batch: Any, data_samples: Sequence[Any]) -> None:
        if not data_samples:
            return
        pred_crops, gt_crops = [], []
        for sample in data_samples:
            pred = prepare_image(get_sample_field(sample, self.pred_key))
            gt = prepare_image(get_sample_field(sample, self.gt_key))
            box = None
            if self.crop == 'mask_bbox':
                mask = get_sample_field(sample, self.mask_key)
                box = mask_bbox(mask.detach(), self.bbox_pad)
                if box is None:
                    print_once_warning(
                        'FReIDMetric: empty body mask; using the whole image.',
                        key='mmlwgan.FReIDMetric.empty_mask')
            pred_crops.append(self._crop(pred, box))
            gt_crops.append(self._crop(gt.to(pred.device), box))
        device = pred_crops[0].device
        module_to(self.net, device)
        pred_feats = self.net(torch.cat(pred_crops).to(device)).cpu().numpy()
        gt_feats = self.net(torch.cat(gt_crops).to(device)).cpu().numpy()
        for pf, gf in zip(pred_feats, gt_feats):
            self.results.append({'pred_feat': pf, 'gt_feat': gf})

    def compute_metrics(self, results: list) -> dict:
        warn_if_random(type(self).__name__, self.key_suffix)
        key = self.metric + self.key_suffix
        if len(results) < 2:
            print_log('FReIDMetric needs at least two samples; got '
                      f'{len(results)}.', logger='current', level=30)
            return {key: float('nan')}
        mu1, sigma1 = feature_stats(
            np.stack([r['pred_feat'] for r in results]))
        mu2, sigma2 = feature_stats(np.stack([r['gt_feat'] for r in results]))
        return {key: frechet_distance(mu1, sigma1, mu2, sigma2)}
