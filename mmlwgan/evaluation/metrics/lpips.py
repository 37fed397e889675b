# Copyright (c) mmlwgan contributors. All rights reserved.
"""LPIPS metric (the paper's self-imitation perceptual distance)."""
from typing import Any, Optional, Sequence, Union

import numpy as np
import torch
from mmengine.evaluator import BaseMetric

from mmlwgan.registry import METRICS
from ..feature_nets import LPIPSNet
from .metrics_utils import (RANDOM_INIT_SUFFIX, get_sample_field, module_to,
                            prepare_image, stack_images, warn_if_random)


@METRICS.register_module()
class LPIPSMetric(BaseMetric):
    """LPIPS distance (``lpips`` v0.1, AlexNet by default) to the ground truth.

    Per image on the [-1, 1] images, averaged over images; the release
    reported it as a distance (lower is better). The network runs on the
    device of the predictions.

    Args:
        pretrained (str | list of str, optional): LPIPS weights: one state
            dict with the ``lpips`` key names (``net.slice1.0.weight``,
            ``lin0.model.1.weight``, ...), or several files merged (e.g.
            torchvision's ``alexnet-owt-7be5be79.pth`` and the package's
            ``weights/v0.1/alex.pth``). Without it the network is random, a
            warning is logged and the key is ``LPIPS_randinit``.
        net (str): ``'alex'`` (the release's) or ``'vgg'``.
        gt_key (str): Ground-truth field of the data samples.
        pred_key (str): Prediction field of the data samples.
        quantize (bool): Round both images to 8 bits first (as saved files).
        collect_device (str): 'cpu' or 'gpu', for distributed collection.
        prefix (str, optional): Prefix of the result keys; defaults to
            :attr:`default_prefix` (none).

    Metrics:
        - LPIPS (float): mean LPIPS distance (lower is better);
          ``LPIPS_randinit`` without pretrained weights.
    """
    metric = 'LPIPS'
    default_prefix: Optional[str] = ''

    def __init__(self,
                 pretrained: Optional[Union[str, Sequence[str]]] = None,
                 net: str = 'alex',
                 gt_key: str = 'gt_img',
                 pred_key: str = 'pred_img',
                 quantize: bool = False,
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        self.net = LPIPSNet(net=net, pretrained=pretrained)
        self.gt_key = gt_key
        self.pred_key = pred_key
        self.quantize = quantize
        self.key_suffix = '' if self.net.is_pretrained else RANDOM_INIT_SUFFIX

    @torch.no_grad()
    def process(self, data_batch: Any, data_samples: Sequence[Any]) -> None:
        if not data_samples:
            return
        preds = [prepare_image(get_sample_field(s, self.pred_key),
                               self.quantize) for s in data_samples]
        gts = [prepare_image(get_sample_field(s, self.gt_key), self.quantize)
               for s in data_samples]
        device = preds[0].device
        module_to(self.net, device)
        for pred, gt in zip(stack_images(preds), stack_images(gts)):
            dists = self.net(pred.to(device), gt.to(device))
            for d in dists.cpu().tolist():
                self.results.append({self.metric: d})

    def compute_metrics(self, results: list) -> dict:
        warn_if_random(type(self).__name__, self.key_suffix)
        value = float(np.mean([r[self.metric] for r in results]))
        return {self.metric + self.key_suffix: value}
