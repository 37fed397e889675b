# Copyright (c) mmlwgan contributors. All rights reserved.
"""The release's motion-imitation loop, the release's way, from our modules:
the baseline ``benchmark_inference.py`` measures the optimised path
against.

Batch 1, the flow composed per sample with a Python loop over the batch
(the release's ``cal_bc_transform``: :func:`compose_flow_loop`), source
features encoded once, the generator's plain modules (NCHW, fp32), every
stage sequential. Geometry otherwise goes through the model's own
``target_frames_inputs`` (with the loop as its flow composition), so the
baseline and the inferencers compute the same frames.
"""
from typing import Any, Callable, Dict, List, Optional

import numpy as np
import torch
from torch import Tensor

from mmlwgan.apis.inferencers.fast_path import (StageTimer, _timer,
                                                frames_to_uint8)

__all__ = ['ReleaseBaseline', 'compose_flow_loop']


def compose_flow_loop(face_idx: Tensor, bary: Tensor, faces: Tensor,
                      src_verts_ndc: Tensor,
                      src_visible_faces: Optional[Tensor] = None,
                      bg_value: float = -2.0) -> Tensor:
    """The release's ``cal_bc_transform``: the flow composed one sample at a
    time with a Python loop over the batch (for the baseline).

    Same arguments and result as
    :func:`mmlwgan.models.flows.compose_flow`.
    """
    B, H, W = face_idx.shape
    out = torch.full((B, H, W, 2), bg_value, dtype=src_verts_ndc.dtype,
                     device=face_idx.device)
    faces = faces if faces.dim() == 3 else faces.unsqueeze(0).expand(
        B, -1, -1)
    for i in range(B):
        # the release's f2pts: projected source vertices of every face
        f2p = src_verts_ndc[i, :, :2][faces[i]]  # (F, 3, 2)
        fim = face_idx[i]
        mask = fim >= 0
        if src_visible_faces is not None:
            mask = mask & src_visible_faces[i][fim.clamp(min=0)]
        idx = fim[mask]
        w = bary[i][mask].to(f2p.dtype)  # (P, 3)
        out[i][mask] = (w.unsqueeze(-1) * f2p[idx]).sum(dim=-2)
    return out


class ReleaseBaseline:
    """The release's motion-imitation loop, built from our modules.

    One frame at a time (batch 1): SMPL, projection, rasterization, the flow
    composed with the per-sample Python loop of the release's
    ``cal_bc_transform`` (:func:`compose_flow_loop`), the condition map,
    I_syn, then the generator's plain ``decode_targets`` (NCHW, fp32) with
    the source features encoded once, then conversion and the sink, all
    sequential under ``torch.no_grad``.

    Args:
        inferencer: a :class:`BaseLWGANInferencer`.
        enc (dict): output of ``inferencer.encode_sources``.
        timer (StageTimer, optional): per-stage wall times.
    """

    def __init__(self, inferencer, enc: Dict[str, Any],
                 timer: Optional[StageTimer] = None) -> None:
        self.inf = inferencer
        self.enc = enc
        self.timer = _timer(timer)

    def flows(self, frags, src_ndc: Tensor, faces: Tensor,
              src_visible: Optional[Tensor] = None) -> Tensor:
        """(N, S, H, W, 2) flows to the sources, per-sample loop (the
        signature of ``FlowComposer.compose``)."""
        with self.timer('flow'):
            N = frags.face_idx.shape[0]
            S = src_ndc.shape[1]
            out = []
            for s in range(S):
                fl = compose_flow_loop(
                    frags.face_idx, frags.bary, faces,
                    src_ndc[:, s].expand(N, -1, -1),
                    None if src_visible is None else
                    src_visible[:, s].expand(N, -1),
                    self.inf.model.flow_composer.bg_value)
                out.append(fl)
            return torch.stack(out, 1)

    def frame(self, theta: Tensor) -> Tensor:
        """(1, 85) -> (1, 3, H, W) in [-1, 1]."""
        inf, enc, t = self.inf, self.enc, self.timer
        with t('smpl'):
            ndc, _ = inf.project(theta.to(inf.device))
        with t('geometry'):
            geo = inf.model.target_frames_inputs(enc, ndc, compose=self.flows)
        with t('G_TSF+compose'):
            out = inf.model.generator.decode_targets(
                geo['tsf_inputs'], geo['flow'], enc['cache'], enc['bg'])
        return out['tsf_img']

    @torch.no_grad()
    def run(self, thetas: Any,
            sink: Callable[[List[np.ndarray], int], None]) -> int:
        """Same contract as :meth:`ImitationPipeline.run` (frames come one
        at a time)."""
        th = torch.as_tensor(np.asarray(thetas) if not isinstance(
            thetas, Tensor) else thetas, dtype=torch.float32)
        for i in range(th.shape[0]):
            img = self.frame(th[i:i + 1])
            with self.timer('emit'):
                sink(list(frames_to_uint8(img).cpu().numpy()), i)
        return th.shape[0]
