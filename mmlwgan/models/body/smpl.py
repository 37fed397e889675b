# Copyright (c) mmlwgan contributors. All rights reserved.
"""SMPL body model: a thin mmlwgan wrapper over ``smplx.SMPL``.

The model data are read by :func:`~mmlwgan.models.body.smpl_io.
load_smpl_model_data` (no chumpy needed) and handed to ``smplx.SMPL`` as a
``data_struct``, so the real smplx linear-blend-skinning code runs for the
licensed SMPL files and for the synthetic body of :mod:`mmlwgan.synthetic`
alike.

Body frame: metres, y up, the body faces +z, +x is the body's LEFT side (SMPL's
rest pose). HMR's predicted global orientation turns it into the camera
frame used by :mod:`mmlwgan.models.body.cameras` (y down, z away).
"""
import contextlib
import io
import os.path as osp
from typing import Dict, Optional, Tuple

import numpy as np
import torch
import torch.nn as nn

from mmlwgan.registry import BODY_MODELS, MODELS
from .smpl_io import SMPL_PARENTS, load_smpl_model_data

try:
    import smplx
    from smplx.utils import Struct
    from smplx.vertex_ids import vertex_ids as SMPLX_VERTEX_IDS
except ImportError:  # pragma: no cover - guarded optional dependency
    smplx = None
    Struct = None
    SMPLX_VERTEX_IDS = {}

#: SMPL's 24 joints, in order.
SMPL_JOINT_NAMES = (
    'pelvis', 'left_hip', 'right_hip', 'spine1', 'left_knee', 'right_knee',
    'spine2', 'left_ankle', 'right_ankle', 'spine3', 'left_foot', 'right_foot',
    'neck', 'left_collar', 'right_collar', 'head', 'left_shoulder',
    'right_shoulder', 'left_elbow', 'right_elbow', 'left_wrist',
    'right_wrist', 'left_hand', 'right_hand')
#: Names of the landmark joints smplx appends after the 24 SMPL joints
#: (``use_feet_keypoints`` and ``use_hands`` on), in its order.
SMPLX_EXTRA_JOINT_NAMES = ('nose', 'reye', 'leye', 'rear', 'lear', 'LBigToe',
                           'LSmallToe', 'LHeel', 'RBigToe', 'RSmallToe',
                           'RHeel', 'lthumb', 'lindex', 'lmiddle', 'lring',
                           'lpinky', 'rthumb', 'rindex', 'rmiddle', 'rring',
                           'rpinky')
#: HMR's 19 COCO-plus joints (``joint_regressor_extra`` rows), in order.
COCOPLUS_JOINT_NAMES = ('right_ankle', 'right_knee', 'right_hip', 'left_hip',
                        'left_knee', 'left_ankle', 'right_wrist',
                        'right_elbow', 'right_shoulder', 'left_shoulder',
                        'left_elbow', 'left_wrist', 'neck', 'head_top', 'nose',
                        'left_eye', 'right_eye', 'left_ear', 'right_ear')
_FACE_IDS = ('nose', 'reye', 'leye', 'rear', 'lear')
_FEET_IDS = ('LBigToe', 'LSmallToe', 'LHeel', 'RBigToe', 'RSmallToe', 'RHeel')
_HAND_IDS = tuple(side + tip for side in 'lr'
                  for tip in ('thumb', 'index', 'middle', 'ring', 'pinky'))

THETA_DIM = 85


def split_theta(theta: torch.Tensor,
                num_betas: int = 10
                ) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Split HMR's theta into camera, pose and shape.

    Args:
        theta (torch.Tensor): (B, 3 + 72 + num_betas), 85 for the release:
            weak-perspective camera ``[s, tx, ty]``, axis-angle pose (24
            joints x 3, radians), shape betas.
        num_betas (int): Number of shape coefficients. Defaults to 10.

    Returns:
        tuple[torch.Tensor]: ``cam`` (B, 3), ``pose`` (B, 72) and ``shape``
        (B, num_betas).
    """
    if theta.shape[-1] != 75 + num_betas:
        raise ValueError(f'theta should have {75 + num_betas} values, got '
                         f'{theta.shape[-1]}')
    return theta[..., :3], theta[..., 3:75], theta[..., 75:]


def _load_extra_regressor(path: str) -> np.ndarray:
    if not osp.isfile(path):
        raise FileNotFoundError(f'joint regressor not found: {path}')
    if path.endswith('.npz'):
        with np.load(path, allow_pickle=False) as npz:
            key = 'joint_regressor_extra' if (
                'joint_regressor_extra' in npz.files) else npz.files[0]
            return np.asarray(npz[key])
    return np.asarray(np.load(path, allow_pickle=False))


@BODY_MODELS.register_module()
class SMPL(nn.Module):
    """SMPL body model (float32, batched, differentiable).

    Args:
        model_path (str): SMPL ``.pkl`` / ``.npz`` file, or a directory holding
            ``SMPL_NEUTRAL.pkl`` etc. (see
            :func:`~mmlwgan.models.body.smpl_io.find_smpl_model_file`).
        gender (str): ``'neutral'``, ``'male'`` or ``'female'``; used when
            ``model_path`` is a directory. Defaults to ``'neutral'``.
        num_betas (int): Number of shape coefficients. Defaults to 10.
        joint_regressor_extra (str, optional): ``.npy`` / ``.npz`` file of a
            (K, V) regressor (e.g. HMR's 19 COCO-plus joints). Defaults to the
            ``joint_regressor_extra`` array of the model file, if any.
        keypoint_src (str): Which joints ``keypoints`` of the output are:
            ``'smpl'`` (the first 24 SMPL joints) or ``'extra'`` (the extra
            regressor's). Defaults to ``'smpl'``.

    Examples:
        >>> smpl = SMPL('data/smpl/SMPL_NEUTRAL.npz')
        >>> out = smpl(torch.zeros(2, 72), torch.zeros(2, 10))
        >>> out['vertices'].shape  # (B, V, 3), 6890 for the real SMPL
        torch.Size([2, 6890, 3])
    """

    NUM_JOINTS = 24

    def __init__(self,
                 model_path: str,
                 gender: str = 'neutral',
                 num_betas: int = 10,
                 joint_regressor_extra: Optional[str] = None,
                 keypoint_src: str = 'smpl') -> None:
        super().__init__()
        if smplx is None:
            raise ImportError('SMPL needs smplx: `pip install smplx`')
        if keypoint_src not in ('smpl', 'extra'):
            raise ValueError(f"keypoint_src should be 'smpl' or 'extra', got "
                             f'{keypoint_src!r}')
        data = load_smpl_model_data(model_path, gender)
        num_joints = data['J_regressor'].shape[0]
        if num_joints != self.NUM_JOINTS:
            raise ValueError(f'{model_path} has {num_joints} joints, SMPL '
                             f'needs {self.NUM_JOINTS}')
        available = data['shapedirs'].shape[-1]
        if num_betas > available:
            raise ValueError(f'num_betas={num_betas} but {model_path} has '
                             f'only {available} shape components')
        self.model_path = str(model_path)
        self.gender = gender
        self.num_betas = num_betas
        self.keypoint_src = keypoint_src

        vertex_ids = data.get('vertex_ids')
        num_verts = data['v_template'].shape[0]
        if vertex_ids is None:
            max_id = max(SMPLX_VERTEX_IDS['smplh'].values())
            if max_id >= num_verts:
                raise ValueError(
                    f'{model_path} has {num_verts} vertices and no '
                    "'vertex_ids': smplx's default SMPL landmarks (up to "
                    f'vertex {max_id}) do not fit it; store the landmark '
                    "vertex ids under 'vertex_ids' in the file")
        selector_cfg = {}
        if vertex_ids is not None:
            missing = [k for k in _FACE_IDS if k not in vertex_ids]
            if missing:
                raise ValueError(f'vertex_ids of {model_path} miss {missing}')
            selector_cfg['use_feet_keypoints'] = all(k in vertex_ids
                                                     for k in _FEET_IDS)
            selector_cfg['use_hands'] = all(k in vertex_ids for k in _HAND_IDS)
        struct = Struct(
            v_template=data['v_template'],
            shapedirs=data['shapedirs'],
            posedirs=data['posedirs'],
            J_regressor=data['J_regressor'],
            weights=data['weights'],
            kintree_table=data['kintree_table'],
            f=data['f'])
        # smplx prints a warning for models with 10 shape components only
        with contextlib.redirect_stdout(io.StringIO()):
            self.body = smplx.SMPL(
                model_path=self.model_path,
                data_struct=struct,
                create_betas=False,
                create_global_orient=False,
                create_body_pose=False,
                create_transl=False,
                num_betas=num_betas,
                gender=gender,
                vertex_ids=vertex_ids,
                dtype=torch.float32,
                **selector_cfg)
        if vertex_ids is None:
            vertex_ids = dict(SMPLX_VERTEX_IDS['smplh'])
        self.vertex_ids: Dict[str, int] = dict(vertex_ids)
        num_sel = self.body.vertex_joint_selector.extra_joints_idxs.numel()
        self.joint_names = SMPL_JOINT_NAMES + SMPLX_EXTRA_JOINT_NAMES[:num_sel]

        regressor = None
        if joint_regressor_extra is not None:
            regressor = _load_extra_regressor(str(joint_regressor_extra))
        elif 'joint_regressor_extra' in data:
            regressor = data['joint_regressor_extra']
        if regressor is not None:
            num_verts = data['v_template'].shape[0]
            if regressor.ndim != 2 or regressor.shape[1] != num_verts:
                raise ValueError('joint_regressor_extra should be (K, '
                                 f'{num_verts}), got {regressor.shape}')
            regressor = torch.as_tensor(regressor, dtype=torch.float32)
        elif keypoint_src == 'extra':
            raise ValueError("keypoint_src='extra' needs a joint regressor")
        self.register_buffer('joint_regressor_extra', regressor)
        # Optional per-face data of the model file, kept as buffers.
        for key, dtype in (('face_uv', torch.float32),
                           ('face_part_labels', torch.long),
                           ('vt', torch.float32), ('ft', torch.long)):
            value = data.get(key)
            self.register_buffer(
                key, None if value is None else torch.as_tensor(
                    np.asarray(value), dtype=dtype))
        self.part_names = list(data.get('part_names', []))

    # ------------------------------------------------------------------
    @property
    def faces(self) -> torch.Tensor:
        """torch.Tensor: (F, 3) int64 vertex ids of the triangles (a buffer,
        outward normals by the right-hand rule)."""
        return self.body.faces_tensor

    @property
    def num_verts(self) -> int:
        """int: Number of vertices V (6890 for SMPL)."""
        return self.body.v_template.shape[0]

    @property
    def num_faces(self) -> int:
        """int: Number of triangles F (13776 for SMPL)."""
        return self.body.faces_tensor.shape[0]

    @property
    def parents(self) -> torch.Tensor:
        """torch.Tensor: (24,) int64 parents of the joints (-1 for root)."""
        return self.body.parents

    @property
    def v_template(self) -> torch.Tensor:
        """torch.Tensor: (V, 3) rest-pose template in metres."""
        return self.body.v_template

    def extra_repr(self) -> str:
        return (f'model_path={self.model_path!r}, num_verts={self.num_verts},'
                f' num_faces={self.num_faces}, num_betas={self.num_betas}')

    # ------------------------------------------------------------------
    def forward(self,
                pose: torch.Tensor,
                betas: torch.Tensor,
                transl: Optional[torch.Tensor] = None,
                global_orient: Optional[torch.Tensor] = None
                ) -> Dict[str, torch.Tensor]:
        """Pose and shape the body.

        Args:
            pose (torch.Tensor): Axis-angle pose (B, 72) or (B, 24, 3), in
                radians, root first; or rotation matrices (B, 24, 3, 3).
            betas (torch.Tensor): Shape coefficients (B, num_betas) (or
                (1, num_betas), broadcast over the batch).
            transl (torch.Tensor, optional): Translation (B, 3) in metres,
                added to vertices and joints.
            global_orient (torch.Tensor, optional): Root rotation overriding
                ``pose[:, :3]``: (B, 3) axis-angle, or (B, 3, 3) when ``pose``
                holds rotation matrices.

        Returns:
            dict[str, torch.Tensor]:

            - ``vertices``: (B, V, 3) posed vertices, metres.
            - ``joints``: (B, 24 + L, 3): the 24 SMPL joints followed by the
              L landmark vertices smplx selects (nose, eyes, ears, feet,
              fingertips: see ``self.joint_names``).
            - ``keypoints``: (B, K, 3) the joints selected by
              ``keypoint_src``.
            - ``keypoints_extra``: (B, K, 3) joints of the extra regressor,
              only when it is given.
        """
        dtype = self.body.v_template.dtype
        pose = pose.to(dtype)
        batch = pose.shape[0]
        pose2rot = not (pose.dim() == 4 or
                        (pose.dim() == 3 and pose.shape[-1] == 9))
        if pose2rot:
            pose = pose.reshape(batch, -1)
            if pose.shape[1] != 72:
                raise ValueError(f'pose should be (B, 72), got {pose.shape}')
            root, body_pose = pose[:, :3], pose[:, 3:]
        else:
            pose = pose.reshape(batch, 24, 9)
            root, body_pose = pose[:, :1], pose[:, 1:]
        if global_orient is not None:
            root = global_orient.to(dtype).reshape(root.shape)
        betas = betas.to(dtype)
        if betas.dim() != 2 or betas.shape[1] != self.num_betas:
            raise ValueError(f'betas should be (B, {self.num_betas}), got '
                             f'{tuple(betas.shape)}')
        if betas.shape[0] != batch:
            betas = betas.expand(batch, -1)
        if transl is not None:
            transl = transl.to(dtype).reshape(batch, 3)
        out = self.body(
            betas=betas,
            body_pose=body_pose,
            global_orient=root,
            transl=transl,
            pose2rot=pose2rot)
        result = dict(vertices=out.vertices, joints=out.joints)
        if self.joint_regressor_extra is not None:
            result['keypoints_extra'] = torch.einsum(
                'kv,bvc->bkc', self.joint_regressor_extra, out.vertices)
        if self.keypoint_src == 'extra':
            result['keypoints'] = result['keypoints_extra']
        else:
            result['keypoints'] = out.joints[:, :self.NUM_JOINTS]
        return result

    def from_theta(self,
                   theta: torch.Tensor,
                   transl: Optional[torch.Tensor] = None
                   ) -> Dict[str, torch.Tensor]:
        """Run the body from HMR's theta (camera + pose + shape).

        Args:
            theta (torch.Tensor): (B, 85) for 10 betas: ``[s, tx, ty]``, pose
                (72, axis-angle), betas (10).
            transl (torch.Tensor, optional): (B, 3) translation.

        Returns:
            dict[str, torch.Tensor]: The outputs of :meth:`forward` plus
            ``cam`` (B, 3), ``pose`` (B, 72) and ``betas`` (B, num_betas).
        """
        cam, pose, betas = split_theta(theta, self.num_betas)
        out = self.forward(pose, betas, transl=transl)
        out.update(cam=cam, pose=pose, betas=betas)
        return out

    split_theta = staticmethod(split_theta)


MODELS.register_module(name='SMPL', module=SMPL, force=False)

__all__ = [
    'SMPL', 'split_theta', 'SMPL_JOINT_NAMES', 'SMPL_PARENTS',
    'SMPLX_EXTRA_JOINT_NAMES', 'COCOPLUS_JOINT_NAMES', 'THETA_DIM'
]
