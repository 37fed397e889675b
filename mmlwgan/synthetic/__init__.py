# Copyright (c) mmlwgan contributors. All rights reserved.
"""Synthetic data, the project's stand-in for licensed and absent assets:
an SMPL-format body (:mod:`.body`), procedural motions (:mod:`.motions`),
iPER-format datasets with optional real-world error (:mod:`.iper`,
:mod:`.realism`), batches and people for tests and demos (:mod:`.batch`),
pictures without a person (:mod:`.no_person`)."""
from .body import (SYNTHETIC_BETA_NAMES, SYNTHETIC_PART_NAMES,
                   get_synthetic_smpl_path, make_synthetic_smpl,
                   save_synthetic_smpl, synthetic_rest_joints)

__all__ = [
    'make_synthetic_smpl', 'save_synthetic_smpl', 'get_synthetic_smpl_path',
    'synthetic_rest_joints', 'SYNTHETIC_PART_NAMES', 'SYNTHETIC_BETA_NAMES'
]
