# Copyright (c) mmlwgan contributors. All rights reserved.
"""Inception score metric (the paper's cross-imitation realism metric)."""
from typing import Any, Optional, Sequence

import numpy as np
import torch
from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log

from mmlwgan.registry import METRICS
from ..feature_nets import InceptionV3Classifier
from ..functional import inception_score
from .metrics_utils import (RANDOM_INIT_SUFFIX, get_sample_field, module_to,
                            prepare_image, stack_images, warn_if_random)


@METRICS.register_module()
class InceptionScoreMetric(BaseMetric):
    """Inception score of the predictions.

    The predictions in [-1, 1] are resized to 299 x 299 (bilinear) and fed to
    torchvision's Inception-v3 as the release did; the softmax of its 1000
    logits gives ``p(y|x)``; see
    :func:`mmlwgan.evaluation.functional.inception_score`. The release
    computed one score over all cross-imitation outputs (``splits=1``).

    Args:
        pretrained (str, optional): torchvision's Inception-v3 checkpoint
            (``inception_v3_google-0cc3c7bd.pth``). Without it the network is
            random, a warning is logged and the keys end with ``_randinit``.
        splits (int): Number of splits of the samples. Defaults to 1.
        resize (int): Input side of the network. Defaults to 299.
        pred_key (str): Prediction field of the data samples.
        collect_device (str): 'cpu' or 'gpu', for distributed collection.
        prefix (str, optional): Prefix of the result keys; defaults to
            :attr:`default_prefix` (none).

    Metrics:
        - IS (float): mean Inception score over the splits (higher is
          better).
        - IS_std (float): its standard deviation over the splits (0 for one
          split).
    """
    metric = 'IS'
    default_prefix: Optional[str] = ''

    def __init__(self,
                 pretrained: Optional[str] = None,
                 splits: int = 1,
                 resize: int = 299,
                 pred_key: str = 'pred_img',
                 collect_device: str = 'cpu',
                 prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if splits < 1:
            raise ValueError(f'splits must be >= 1, got {splits}.')
        self.net = InceptionV3Classifier(pretrained=pretrained, resize=resize)
        self.splits = splits
        self.pred_key = pred_key
        self.key_suffix = '' if self.net.is_pretrained else RANDOM_INIT_SUFFIX

    @torch.no_grad()
    def process(self, data_batch: Any, data_samples: Sequence[Any]) -> None:
        if not data_samples:
            return
        preds = [prepare_image(get_sample_field(s, self.pred_key))
                 for s in data_samples]
        device = preds[0].device
        module_to(self.net, device)
        for batch in stack_images(preds):
            logits = self.net(batch.to(device)).double()
            probs = torch.softmax(logits, dim=1).float().cpu().numpy()
            for p in probs:
                self.results.append({'probs': p})

    def compute_metrics(self, results: list) -> dict:
        warn_if_random(type(self).__name__, self.key_suffix)
        probs = np.stack([r['probs'] for r in results], axis=0)
        if len(probs) < self.splits:
            print_log(f'InceptionScoreMetric: {len(probs)} samples cannot be '
                      f'cut into {self.splits} splits.', logger='current',
                      level=30)
            mean, std = float('nan'), float('nan')
        else:
            mean, std = inception_score(probs, splits=self.splits)
        return {
            'IS' + self.key_suffix: mean,
            'IS_std' + self.key_suffix: std
        }
