# Copyright (c) mmlwgan contributors. All rights reserved.
"""``FlowComposer``: from source and target meshes to the transformation flow."""
from typing import Dict, Union

from torch import Tensor, nn

from mmlwgan.registry import MODELS, RENDERERS
from .flow import BG_FLOW_VALUE, compose_flow, face_visibility, warp_image


@MODELS.register_module()
class FlowComposer(nn.Module):
    """Rasterize the source(s) and the target, and compose the flow T.

    Args:
        rasterizer (dict | nn.Module): config of a ``RENDERERS`` rasterizer
            (e.g. ``dict(type='MeshRasterizer', image_size=256)``) or a built
            one.
        use_visibility (bool): set target pixels whose face no source pixel
            shows to background (the release's option, off by default).
        bg_value (float): flow value of background pixels. Defaults to -2.

    Shapes (NDC as in :mod:`mmlwgan.models.flows.flow`):
        - ``src_verts``: (B, V, 3) one source, or (B, S, V, 3) S sources;
        - ``tgt_verts``: (B, V, 3);
        - ``faces``: (F, 3) long, shared by all meshes.
    """

    def __init__(self,
                 rasterizer: Union[dict, nn.Module],
                 use_visibility: bool = False,
                 bg_value: float = BG_FLOW_VALUE) -> None:
        super().__init__()
        if isinstance(rasterizer, dict):
            rasterizer = RENDERERS.build(rasterizer)
        self.rasterizer = rasterizer
        self.use_visibility = use_visibility
        self.bg_value = bg_value

    def forward(self, src_verts: Tensor, tgt_verts: Tensor,
                faces: Tensor) -> Dict[str, Tensor]:
        """Compose the flow.

        Returns:
            dict[str, Tensor]:

            - ``flow``: (B, H, W, 2), or (B, S, H, W, 2) for several sources;
            - ``src_fragments`` / ``tgt_fragments``: the rasterizer outputs
              (the sources flattened to a batch of B * S);
            - ``src_body`` (B[, S], 1, H, W) and ``tgt_body`` (B, 1, H, W):
              silhouettes in {0, 1}.
        """
        multi = src_verts.dim() == 4
        B = tgt_verts.shape[0]
        S = src_verts.shape[1] if multi else 1
        src_flat = src_verts.reshape(B * S, *src_verts.shape[-2:])
        src_frag = self.rasterizer(src_flat, faces)
        tgt_frag = self.rasterizer(tgt_verts, faces)

        face_idx = tgt_frag.face_idx.repeat_interleave(S, dim=0)
        bary = tgt_frag.bary.repeat_interleave(S, dim=0)
        visible = None
        if self.use_visibility:
            visible = face_visibility(src_frag.face_idx, faces.shape[-2])
        flow = compose_flow(face_idx, bary, faces, src_flat, visible,
                            self.bg_value)
        src_body = (src_frag.face_idx >= 0).unsqueeze(1).float()
        tgt_body = (tgt_frag.face_idx >= 0).unsqueeze(1).float()
        if multi:
            flow = flow.reshape(B, S, *flow.shape[1:])
            src_body = src_body.reshape(B, S, *src_body.shape[1:])
        return dict(flow=flow, src_fragments=src_frag, tgt_fragments=tgt_frag,
                    src_body=src_body, tgt_body=tgt_body)

    @staticmethod
    def warp(src_img: Tensor, flow: Tensor,
             align_corners: bool = False) -> Tensor:
        """Warp source image(s) with the flow.

        Args:
            src_img (Tensor): (B, C, H, W) or (B, S, C, H, W).
            flow (Tensor): (B, H, W, 2) or (B, S, H, W, 2).

        Returns:
            Tensor: the warped image(s), same shape as ``src_img``.
        """
        if src_img.dim() == 5:
            B, S = src_img.shape[:2]
            out = warp_image(src_img.flatten(0, 1), flow.flatten(0, 1),
                             align_corners)
            return out.reshape(B, S, *out.shape[1:])
        return warp_image(src_img, flow, align_corners)


def sum_warped(warped: Tensor) -> Tensor:
    """Sum warped sources (B, S, C, H, W) -> (B, C, H, W), the release's fusion
    of several sources."""
    return warped.sum(dim=1)


__all__ = ['FlowComposer', 'sum_warped']
