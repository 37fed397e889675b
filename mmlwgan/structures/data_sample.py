# Copyright (c) mmlwgan contributors. All rights reserved.
"""The data sample passed between datasets, models and metrics."""
from mmengine.structures import BaseDataElement


class LWGANDataSample(BaseDataElement):
    """One training / evaluation pair of the Liquid Warping GAN.

    Data fields (all optional; tensors on the sample's device):

    - ``src_smpl``: (S, 85) SMPL parameters of the S source frames, the
      release's theta layout: camera ``[s, tx, ty]`` (3), axis-angle pose
      (72), shape (10).
    - ``tgt_smpl``: (85,) SMPL parameters of the target frame.
    - ``src_kps`` / ``tgt_kps``: (S, K, 2) / (K, 2) keypoints in NDC, when
      the dataset ships them.
    - ``gt_img``: (3, H, W) float target image in [-1, 1] (set by the data
      preprocessor for metrics).
    - ``pred_img``: (3, H, W) float prediction in [-1, 1] (set by the model
      in ``val_step`` / ``test_step``); ``pred_mask`` (1, H, W) its
      background weight; ``warped_img`` (3, H, W) the source warped by the
      flow; ``body_mask`` (1, H, W) the rendered target silhouette.

    Metainfo: ``video_id``, ``src_frame_ids``, ``tgt_frame_id``,
    ``img_shape``.
    """
