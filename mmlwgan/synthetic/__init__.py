# Copyright (c) mmlwgan contributors. All rights reserved.
"""Synthetic data, the project's stand-in for licensed and absent assets:
an SMPL-format body (:mod:`.body`; its geometry in :mod:`.body_mesh`, its
files in :mod:`.body_files`), procedural motions (:mod:`.motions`),
iPER-format datasets (:mod:`.iper`, the writer; :mod:`.iper_spec`, actors,
clothes and backgrounds; :mod:`.iper_render`, motion, camera and rendering)
with optional real-world error (:mod:`.realism`; loose garments in
:mod:`.loose_garments`), batches and people for tests and demos
(:mod:`.batch`), pictures without a person (:mod:`.no_person`)."""
from .body import make_synthetic_smpl
from .body_files import get_synthetic_smpl_path, save_synthetic_smpl
from .body_mesh import (SYNTHETIC_BETA_NAMES, SYNTHETIC_PART_NAMES,
                        synthetic_rest_joints)

__all__ = [
    'make_synthetic_smpl', 'save_synthetic_smpl', 'get_synthetic_smpl_path',
    'synthetic_rest_joints', 'SYNTHETIC_PART_NAMES', 'SYNTHETIC_BETA_NAMES'
]
