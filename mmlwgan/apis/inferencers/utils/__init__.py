# Copyright (c) mmlwgan contributors. All rights reserved.
"""Helpers of the inferencers (mmpose's ``apis/inferencers/utils`` room):
person detection for HMR crops and the streaming output writer."""
from .detection import HOG_DETECTOR, build_person_detector
from .outputs import OutputWriter, as_uint8, side_by_side_frame

__all__ = ['HOG_DETECTOR', 'build_person_detector', 'OutputWriter',
           'as_uint8', 'side_by_side_frame']
