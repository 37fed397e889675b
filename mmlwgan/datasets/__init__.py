# Copyright (c) mmlwgan contributors. All rights reserved.
"""Datasets (registered in ``mmlwgan.registry.DATASETS``) and transforms."""
from .iper_dataset import IPERDataset
from .iper_files import (COCOPLUS_KEYPOINT_NAMES, IPERDataError,
                         IPERMissingFileError, load_kps, load_pickle,
                         load_pose_shape, load_protocol, read_split_file)
from .transforms import LoadPairFrames, PackLWGANInputs, ResizeFrames
from .video_io import (count_video_frames, frame_index_from_name, list_frames,
                       natural_sort_key, read_image, read_video_frames)

__all__ = [
    'IPERDataset', 'IPERDataError', 'IPERMissingFileError', 'load_pickle',
    'load_pose_shape', 'load_kps', 'read_split_file', 'load_protocol',
    'COCOPLUS_KEYPOINT_NAMES', 'LoadPairFrames', 'ResizeFrames',
    'PackLWGANInputs', 'list_frames', 'natural_sort_key',
    'frame_index_from_name', 'read_image', 'read_video_frames',
    'count_video_frames'
]
