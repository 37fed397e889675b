# Copyright (c) mmlwgan contributors. All rights reserved.
"""Helpers of the inferencers (mmpose's ``apis/inferencers/utils`` room):
what the stages of a call hand on (the sources, the prepared run) and the
streaming output writer. Their person detector is built by
:func:`mmlwgan.preprocessing.build_person_detector`, next to the
detectors."""
from .outputs import OutputWriter, as_uint8, side_by_side_frame
from .run_state import InferenceRun, SourceState

__all__ = [
    'OutputWriter', 'as_uint8', 'side_by_side_frame', 'InferenceRun',
    'SourceState'
]
