# Copyright (c) mmlwgan contributors. All rights reserved.
"""Body parts of the inferencers' mesh: per-face part labels (from the body
model file or the release's ``smpl_part_info.json``), the faces of named
parts (appearance transfer's ``keep_parts``), the front faces of the head
and the pasting of directly warped pixels over them (the release's
``front_warp``).

:class:`BodyPartsMixin` is a part of
:class:`~mmlwgan.apis.inferencers.BaseLWGANInferencer` (it uses its
``faces``, ``body_model``, ``part_file`` and ``front_face_file``).
"""
import os.path as osp
from typing import List, Sequence, Tuple

import torch
from torch import Tensor

from mmlwgan.utils.errors import InferenceInputError

__all__ = ['BodyPartsMixin']


class BodyPartsMixin:
    """Part labels, part masks and the front-face warp (a part of
    :class:`~mmlwgan.apis.inferencers.BaseLWGANInferencer`)."""

    def part_labels(self) -> Tuple[Tensor, List[str]]:
        """Per-face part labels (F,) and part names, from the body model
        file or ``part_file``."""
        if self._part_labels is not None:
            return self._part_labels
        F = self.faces.shape[0]
        if self.part_file is not None:
            import json
            if not osp.isfile(self.part_file):
                raise FileNotFoundError(
                    f'part file {self.part_file!r} does not exist')
            with open(self.part_file) as f:
                data = json.load(f)
            names = sorted(data)
            labels = torch.full((F, ), -1, dtype=torch.long)
            for i, name in enumerate(names):
                ids = data[name]['face'] if isinstance(data[name],
                                                       dict) else data[name]
                labels[torch.as_tensor(ids, dtype=torch.long)] = i
            if (labels < 0).any():
                raise InferenceInputError(
                    f'part file {self.part_file!r} leaves '
                    f'{int((labels < 0).sum())} of {F} faces without a part')
        else:
            labels = getattr(self.body_model, 'face_part_labels', None)
            names = list(getattr(self.body_model, 'part_names', []) or [])
            if labels is None or not names:
                raise InferenceInputError(
                    'the body model file has no per-face part labels '
                    "('face_part_labels', 'part_names'): give "
                    "part_file=<the release's smpl_part_info.json>")
        self._part_labels = (labels.to(self.faces.device), names)
        return self._part_labels

    def faces_of_parts(self, parts: Sequence[str]) -> Tensor:
        """(F,) bool mask of the faces of the named parts (names match
        exactly or after a numeric prefix, e.g. ``'head'`` = ``'00_head'``).
        """
        labels, names = self.part_labels()

        def norm(n: str) -> str:
            head, _, tail = n.partition('_')
            return tail.lower() if head.isdigit() and tail else n.lower()

        index = {}
        for i, n in enumerate(names):
            index[n.lower()] = i
            index.setdefault(norm(n), i)
        mask = torch.zeros_like(labels, dtype=torch.bool)
        for p in parts:
            i = index.get(p.lower(), index.get(norm(p)))
            if i is None:
                raise InferenceInputError(
                    f'unknown body part {p!r}; the body model has {names}')
            mask |= labels == i
        return mask

    def front_faces(self) -> Tensor:
        """(F,) bool: faces pasted by the front-face warp (the face: head
        faces whose rest-pose normal looks forward, or the release's
        ``front_face_file``)."""
        if self._front_faces is not None:
            return self._front_faces
        F = self.faces.shape[0]
        if self.front_face_file is not None:
            import json
            if not osp.isfile(self.front_face_file):
                raise FileNotFoundError(
                    f'front face file {self.front_face_file!r} does not '
                    'exist')
            with open(self.front_face_file) as f:
                ids = json.load(f)['face']
            mask = torch.zeros(F, dtype=torch.bool)
            mask[torch.as_tensor(ids, dtype=torch.long)] = True
        else:
            try:
                head = self.faces_of_parts(['head'])
            except InferenceInputError:
                # skinning: faces whose vertices follow the head joint
                weights = self.body_model.body.lbs_weights
                vert_head = weights.argmax(1) == 15
                head = vert_head[self.faces].all(1)
            v = self.body_model.v_template
            tri = v[self.faces]
            normal = torch.cross(tri[:, 1] - tri[:, 0], tri[:, 2] - tri[:, 0],
                                 dim=1)
            normal = normal / normal.norm(dim=1, keepdim=True).clamp_min(
                1e-12)
            mask = head & (normal[:, 2] > 0.3)  # SMPL faces +z at rest
        self._front_faces = mask.to(self.faces.device)
        return self._front_faces

    def paste_region(self, pred: Tensor, warped: Tensor, tsf_mask: Tensor,
                     face_idx: Tensor, faces_mask: Tensor,
                     flow: Tensor) -> Tensor:
        """Paste ``warped`` pixels over ``pred`` where the target shows a
        face of ``faces_mask`` that the flow can sample (the release's
        front-face warp); blended by ``1 - tsf_mask``."""
        region = faces_mask[face_idx.clamp(min=0)] & (face_idx >= 0)
        valid = (flow.abs() <= 1).all(-1)
        alpha = (region & valid).unsqueeze(1).to(pred.dtype) * (1 - tsf_mask)
        return pred * (1 - alpha) + warped * alpha
