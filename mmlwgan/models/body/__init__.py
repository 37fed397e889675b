# Copyright (c) mmlwgan contributors. All rights reserved.
"""The body: SMPL and its files, cameras (projections, the image coordinate
convention, the crop -> frame camera conversion), rotations, HMR and its
crops."""
from .cameras import (PerspectiveCamera, WeakPerspectiveCamera,
                      crop_cam_to_frame_cam, frame_cam_to_crop_cam,
                      ndc_to_pixel, perspective_project, pixel_to_ndc,
                      weak_perspective_project, weak_perspective_unproject_xy,
                      weak_to_perspective_translation)
from .geometry import (axis_angle_to_matrix, euler_to_matrix,
                       matrix_to_axis_angle, rotate_points)
from .hmr import HMR, IterativeRegressor, default_mean_theta
from .hmr_api import (HMRPredictor, crop_person, crop_to_image_coords,
                      prepare_hmr_inputs, theta_to_smpl)
from .smpl import (COCOPLUS_JOINT_NAMES, SMPL, SMPL_JOINT_NAMES, SMPL_PARENTS,
                   SMPLX_EXTRA_JOINT_NAMES, THETA_DIM, split_theta)
from .smpl_io import (find_smpl_model_file, load_smpl_model_data,
                      save_smpl_npz, smpl_data_from_hmr_state_dict,
                      validate_smpl_model_data)

__all__ = [
    'SMPL', 'split_theta', 'SMPL_JOINT_NAMES', 'SMPL_PARENTS',
    'SMPLX_EXTRA_JOINT_NAMES', 'COCOPLUS_JOINT_NAMES', 'THETA_DIM',
    'load_smpl_model_data', 'save_smpl_npz', 'find_smpl_model_file',
    'validate_smpl_model_data', 'smpl_data_from_hmr_state_dict',
    'WeakPerspectiveCamera', 'PerspectiveCamera', 'weak_perspective_project',
    'weak_perspective_unproject_xy', 'perspective_project',
    'weak_to_perspective_translation', 'pixel_to_ndc', 'ndc_to_pixel',
    'crop_cam_to_frame_cam', 'frame_cam_to_crop_cam',
    'axis_angle_to_matrix', 'matrix_to_axis_angle', 'euler_to_matrix',
    'rotate_points', 'HMR', 'IterativeRegressor', 'default_mean_theta',
    'HMRPredictor', 'crop_person', 'crop_to_image_coords',
    'prepare_hmr_inputs', 'theta_to_smpl'
]
