# Copyright (c) mmlwgan contributors. All rights reserved.
"""Helpers for tests, CI and demos (no licensed data needed)."""
from .synthetic_smpl import (SYNTHETIC_BETA_NAMES, SYNTHETIC_PART_NAMES,
                             get_synthetic_smpl_path, make_synthetic_smpl,
                             save_synthetic_smpl, synthetic_rest_joints)

__all__ = [
    'make_synthetic_smpl', 'save_synthetic_smpl', 'get_synthetic_smpl_path',
    'synthetic_rest_joints', 'SYNTHETIC_PART_NAMES', 'SYNTHETIC_BETA_NAMES'
]
