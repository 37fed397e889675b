# Copyright (c) mmlwgan contributors. All rights reserved.
"""``FlowComposer``: from source and target meshes to the transformation flow."""
from typing import Dict, Optional, Union

from torch import Tensor, nn

from mmlwgan.registry import MODELS, RENDERERS
from .flow import BG_FLOW_VALUE, compose_flow, face_visibility, warp_image


@MODELS.register_module()
class FlowComposer(nn.Module):
    """Rasterize the source(s) and the target, and compose the flow T.

    :meth:`rasterize` and :meth:`compose` are the two halves, so that a
    source set is rasterized once and composed against any number of
    targets (:meth:`LiquidWarpingGAN.encode_sources` /
    ``decode_targets``); :meth:`forward` does both for a batch of pairs.

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

    def rasterize(self, verts: Tensor, faces: Tensor):
        """Rasterize (N, V, 3) NDC meshes (the configured rasterizer)."""
        return self.rasterizer(verts, faces)

    def visible_faces(self, fragments, num_faces: int) -> Optional[Tensor]:
        """(N, F) bool faces each render shows, or None without
        ``use_visibility``."""
        if not self.use_visibility:
            return None
        return face_visibility(fragments.face_idx, num_faces)

    def compose(self, tgt_fragments, src_verts: Tensor, faces: Tensor,
                src_visible: Optional[Tensor] = None) -> Tensor:
        """The flow from N target renders to S sources each.

        Args:
            tgt_fragments: rasterization of the N targets.
            src_verts (Tensor): (N, S, V, 3) source NDC vertices, or
                (1, S, V, 3) shared by all targets.
            faces (Tensor): (F, 3) long.
            src_visible (Tensor, optional): (N or 1, S, F) bool faces each
                source shows (:meth:`visible_faces`).

        Returns:
            Tensor: (N, S, H, W, 2), ``align_corners=False`` pixel centres,
            ``bg_value`` off the body.
        """
        N = tgt_fragments.face_idx.shape[0]
        S = src_verts.shape[1]
        src = src_verts.expand(N, -1, -1, -1).reshape(N * S,
                                                      *src_verts.shape[2:])
        vis = None
        if src_visible is not None:
            vis = src_visible.expand(N, -1, -1).reshape(N * S, -1)
        flow = compose_flow(
            tgt_fragments.face_idx.repeat_interleave(S, dim=0),
            tgt_fragments.bary.repeat_interleave(S, dim=0), faces, src, vis,
            self.bg_value)
        return flow.reshape(N, S, *flow.shape[1:])

    def forward(self, src_verts: Tensor, tgt_verts: Tensor,
                faces: Tensor) -> Dict[str, Tensor]:
        """Rasterize the sources and the targets, then compose the flow.

        Returns:
            dict[str, Tensor]:

            - ``flow``: (B, H, W, 2), or (B, S, H, W, 2) for several sources;
            - ``src_fragments`` / ``tgt_fragments``: the rasterizer outputs
              (the sources flattened to a batch of B * S);
            - ``src_body`` (B[, S], 1, H, W) and ``tgt_body`` (B, 1, H, W):
              silhouettes in {0, 1}.
        """
        multi = src_verts.dim() == 4
        if not multi:
            src_verts = src_verts.unsqueeze(1)
        B, S = src_verts.shape[:2]
        src_frag = self.rasterize(src_verts.flatten(0, 1), faces)
        tgt_frag = self.rasterize(tgt_verts, faces)
        visible = self.visible_faces(src_frag, faces.shape[-2])
        if visible is not None:
            visible = visible.reshape(B, S, -1)
        flow = self.compose(tgt_frag, src_verts, faces, visible)
        src_body = (src_frag.face_idx >= 0).unsqueeze(1).float()
        tgt_body = (tgt_frag.face_idx >= 0).unsqueeze(1).float()
        src_body = src_body.reshape(B, S, *src_body.shape[1:])
        if not multi:
            flow, src_body = flow[:, 0], src_body[:, 0]
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
