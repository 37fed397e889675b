# Copyright (c) mmlwgan contributors. All rights reserved.
"""Preprocessing of new videos into training data (the iPER layout), and
the person detectors.

Person detection and tracking (:mod:`.person_detector`; OpenCV's HOG people
detector, nothing to download, in :mod:`.hog_detector`; the one entry point
that builds a detector from an option, also for the inferencers, in
:mod:`.detector_builder`), 2D keypoints (:mod:`.keypoint_estimator`) and the
whole video pipeline (:mod:`.video_preprocessor`; reading and squaring
frames in :mod:`.frames`, the output layout's video ids and splits in
:mod:`.iper_layout`). The crop -> frame camera conversion lives in
:mod:`mmlwgan.models.body.cameras` (re-exported here). mmdet / mmpose are
imported only when their models are built.
"""
from mmlwgan.models.body.cameras import (crop_cam_to_frame_cam,
                                         frame_cam_to_crop_cam)
from mmlwgan.utils.errors import NoPersonError
from .detector_builder import (HOG_DETECTOR, BestPersonBox, build_detector,
                               build_person_detector)
from .hog_detector import HOGPersonDetector
from .keypoint_estimator import (COCO17_JOINT_NAMES, COCO17_TO_COCOPLUS19,
                                 COCOPLUS_JOINT_NAMES, KeypointEstimator,
                                 coco17_to_cocoplus19)
from .person_detector import (BasePersonDetector, FixedBoxDetector,
                              PersonDetector, PersonSegmenter, PersonTracker,
                              WholeFrameDetector, box_iou, load_mm_config,
                              strip_pretrained_init_cfg)
from .video_preprocessor import (VideoPreprocessor, VideoReadError,
                                 crop_square, find_done_videos, map_crop_info,
                                 square_region, video_id_from_path,
                                 write_splits)

__all__ = [
    'NoPersonError', 'BasePersonDetector', 'PersonDetector',
    'HOGPersonDetector', 'HOG_DETECTOR', 'build_detector', 'BestPersonBox',
    'build_person_detector',
    'PersonSegmenter', 'FixedBoxDetector', 'WholeFrameDetector',
    'PersonTracker', 'box_iou', 'load_mm_config', 'strip_pretrained_init_cfg',
    'KeypointEstimator', 'coco17_to_cocoplus19', 'COCO17_JOINT_NAMES',
    'COCOPLUS_JOINT_NAMES', 'COCO17_TO_COCOPLUS19', 'VideoPreprocessor',
    'VideoReadError', 'crop_cam_to_frame_cam', 'frame_cam_to_crop_cam',
    'map_crop_info', 'square_region', 'crop_square', 'video_id_from_path',
    'write_splits', 'find_done_videos'
]
