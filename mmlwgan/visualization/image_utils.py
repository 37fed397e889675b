# Copyright (c) mmlwgan contributors. All rights reserved.
"""Tensor <-> uint8 image helpers for outputs and visual checks."""
from typing import Optional, Sequence

import cv2
import numpy as np
from torch import Tensor


def to_uint8(img: Tensor, value_range=(0.0, 1.0)) -> np.ndarray:
    """(3, H, W) float tensor in ``value_range`` -> (H, W, 3) uint8 RGB."""
    lo, hi = value_range
    arr = ((img.detach().float().cpu() - lo) / (hi - lo)).clamp(0, 1)
    return (arr.permute(1, 2, 0).numpy() * 255 + 0.5).astype(np.uint8)


def hstack_labelled(images: Sequence[np.ndarray],
                    labels: Optional[Sequence[str]] = None) -> np.ndarray:
    """Place (H, W, 3) uint8 images side by side, each with a caption."""
    out = []
    for i, img in enumerate(images):
        img = np.ascontiguousarray(img)
        if labels:
            scale = max(img.shape[0] / 512, 0.3)
            cv2.putText(img, labels[i], (4, int(18 * scale * 1.6)),
                        cv2.FONT_HERSHEY_SIMPLEX, scale, (0, 0, 0), 2,
                        cv2.LINE_AA)
            cv2.putText(img, labels[i], (4, int(18 * scale * 1.6)),
                        cv2.FONT_HERSHEY_SIMPLEX, scale, (255, 255, 255), 1,
                        cv2.LINE_AA)
        out.append(img)
    return np.concatenate(out, axis=1)
