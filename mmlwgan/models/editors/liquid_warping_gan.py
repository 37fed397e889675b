# Copyright (c) mmlwgan contributors. All rights reserved.
"""``LiquidWarpingGAN``: the whole model as an mmengine ``BaseModel``.

Data flow of one batch (shapes for B pairs of S sources, H x W images):

1. SMPL parameters (release theta: cam 3 + pose 72 + shape 10) of sources
   and target -> body-model vertices -> weak-perspective NDC meshes.
2. :class:`FlowComposer` rasterizes them and composes the flow T
   (B, S, H, W, 2); condition maps (B[, S], 3, H, W) come from the
   fragments; masks from the silhouettes (the release's erosions).
3. The generator gets the background input (B, 4, H, W), the source inputs
   (B, S, 6, H, W), the target input ``[warped source, target cond]``
   (B, 6, H, W) and T; it returns background, source reconstructions and the
   target image (all in [-1, 1]) and attention masks (background weight).
4. Losses (release weights in configs): source reconstruction L1,
   perceptual and face identity on the target, mask BCE against the eroded
   rendered background, total variation of the masks, LSGAN.

Why one file of about 600 lines: it is one class whose methods are the
steps above in order, sharing the submodules built in ``__init__``; the
inferencers and the optimised pipeline call the geometry steps one by one
(``project``, ``source_geometry``, ``encode_sources``, ``decode_targets``)
and training calls them through ``train_step``, so splitting the class into
mixins would scatter one data flow over several files. The geometry itself
lives in :mod:`mmlwgan.models.flows` and :mod:`mmlwgan.models.renderers`.
"""
from typing import Any, Callable, Dict, List, Optional, Tuple, Union

import torch
import torch.nn.functional as F
from mmengine.model import BaseModel
from mmengine.optim import OptimWrapperDict
from torch import Tensor, nn

from mmlwgan.registry import BODY_MODELS, MODELS
from ..body import split_theta, weak_perspective_project
from ..flows import FlowComposer, erode, lwgan_masks
from ..renderers import release_face_uv, uv_cond_map
from .background import (BACKGROUNDS, inpaint_hole, inpaint_kernel,
                         keep_known_pixels)

ModelCfg = Optional[Union[dict, nn.Module]]


def _build(cfg: ModelCfg, registry=MODELS) -> Optional[nn.Module]:
    if cfg is None or isinstance(cfg, nn.Module):
        return cfg
    return registry.build(cfg)


def set_requires_grad(module: Optional[nn.Module], flag: bool) -> None:
    if module is not None:
        for p in module.parameters():
            p.requires_grad_(flag)


#: ``'release'``: T at ``align_corners=False`` pixel centres, sampled with
#: ``align_corners=True`` (the released code, which computes T with
#: neural_renderer's centres ``(2i + 1 - W) / W`` and then samples it with
#: plain ``F.grid_sample``, i.e. ``align_corners=True`` under the torch 1.2 it
#: ran on: every read lands up to half a pixel away from the point T names,
#: a magnification by ``W / (W - 1)`` about the image centre; the released
#: weights were trained on exactly that). ``'consistent'``: both sides
#: ``align_corners=False``: reads land where T says.
FLOW_CONVENTIONS = ('release', 'consistent')


def resolve_flow_convention(convention: Optional[str],
                            fusion_align_corners: Optional[bool]) -> str:
    """The model's flow convention from its argument and its generator.

    Args:
        convention (str, optional): ``'release'``, ``'consistent'`` or None.
        fusion_align_corners (bool, optional): the generator's fusion
            blocks' ``align_corners`` (None: no feature warping).

    Returns:
        str: one of :data:`FLOW_CONVENTIONS`.

    Raises:
        ValueError: unknown name, or one that contradicts the fusion blocks.
    """
    if convention is None:
        return 'release' if fusion_align_corners else 'consistent'
    if convention not in FLOW_CONVENTIONS:
        raise ValueError(f'flow_convention must be one of {FLOW_CONVENTIONS}'
                         f', got {convention!r}')
    if fusion_align_corners is not None and \
            fusion_align_corners != (convention == 'release'):
        raise ValueError(
            f"flow_convention={convention!r} but the generator's fusion "
            f'blocks use align_corners={fusion_align_corners}: the '
            "'release' convention needs align_corners=True, 'consistent' "
            'needs False')
    return convention


def _release_face_uv_of(body_model: nn.Module) -> Optional[Tensor]:
    """(F, 2) per-face UV by the release's rule (midpoint of the first UV
    edge) when the body model file has per-vertex UVs, else None."""
    vt = getattr(body_model, 'vt', None)
    ft = getattr(body_model, 'ft', None)
    if vt is None or ft is None:
        return None
    return torch.as_tensor(
        release_face_uv(vt.cpu().numpy(), ft.cpu().numpy()),
        dtype=torch.float32)


#: Submodules that never live in mmlwgan checkpoints (built from the user's
#: own files: body model, HMR, the losses' feature networks); dropped when
#: saving and not required when loading (also by
#: :func:`mmlwgan.apis.init_model`'s checks).
EXTERNAL_PREFIXES = ('body_model.', 'hmr.', 'perceptual_loss.', 'face_loss.')


def _drop_external_keys(module, state_dict, prefix, local_metadata):
    for key in list(state_dict):
        if key[len(prefix):].startswith(EXTERNAL_PREFIXES):
            del state_dict[key]
    return state_dict


def _ignore_missing_external(module, incompatible_keys):
    missing = incompatible_keys.missing_keys
    missing[:] = [k for k in missing if not any(
        p in k for p in EXTERNAL_PREFIXES)]


@MODELS.register_module()
class LiquidWarpingGAN(BaseModel):
    """Liquid Warping GAN (ICCV 2019) and its extension's fusion variants.

    Args:
        generator (dict): config of an ``LWBGenerator``-like generator
            (``forward(bg_inputs, src_inputs, tsf_inputs, flows)``).
        discriminator (dict, optional): conditional discriminator on
            ``[image, target cond]`` (6 channels). None: no adversarial loss
            (inference-only models).
        body_model (dict): ``BODY_MODELS`` config, e.g.
            ``dict(type='SMPL', model_path=...)``.
        rasterizer (dict): ``RENDERERS`` config with the image size.
        cond_encoder (dict, optional): ``CondMapEncoder`` config. None: the
            release's UV map from the body model file's ``face_uv``.
        pixel_loss, perceptual_loss, face_loss, mask_loss, tv_loss,
        gan_loss (dict, optional): loss configs; None switches a term off.
        hmr (dict, optional): a body-mesh-recovery network (frozen), used at
            inference when SMPL parameters are not given.
        use_visibility (bool): drop target pixels whose face no source shows.
        flow_convention (str, optional): how the flow T is sampled, by the
            I_syn warp and by the generator's feature warps (one setting for
            both, see :data:`FLOW_CONVENTIONS`). ``'release'``: T is
            computed at ``align_corners=False`` pixel centres and sampled with
            ``align_corners=True``, unconverted, as in the released code
            (the world the released weights were trained in);
            ``'consistent'``: both sides ``align_corners=False`` (new
            models). None (the default) follows the generator's fusion
            blocks (``fusion_align_corners`` True: ``'release'``), or
            ``'consistent'`` for generators without feature warping; an
            explicit value must agree with the fusion blocks. ``'release'``
            also culls back faces as the release's renderer does and, when
            the body model file has per-vertex UVs, builds the UV condition
            map with the release's per-face rule.
        ft_kernel (int): erosion of the attention targets. Defaults to 3.
        bg_kernel (int): erosion of the background input. Defaults to 15.
        bg_fill_hole_only (bool): keep the known pixels: the background is
            the first source's own pixels where G_BG's input shows them
            (``bg_input_mask``, the background eroded by ``bg_kernel``) and
            G_BG's output only in the hole its body leaves,
            ``bg = known * src + (1 - known) * G_BG`` (with
            :func:`~mmlwgan.models.editors.background.keep_known_pixels`),
            in training (losses, discriminator), in :meth:`forward` /
            ``test_step`` and in :meth:`encode_sources`' ``'generated'``
            background (which then equals ``'original'``). G_BG gets
            gradients only from the hole. Defaults to False (the release:
            G_BG regenerates the whole background).
        data_preprocessor (dict): defaults to ``LWGANDataPreprocessor``.
        init_cfg (dict, optional): mmengine init config.
    """

    def __init__(self,
                 generator: dict,
                 body_model: dict,
                 rasterizer: dict,
                 discriminator: ModelCfg = None,
                 cond_encoder: ModelCfg = None,
                 pixel_loss: ModelCfg = None,
                 perceptual_loss: ModelCfg = None,
                 face_loss: ModelCfg = None,
                 mask_loss: ModelCfg = None,
                 tv_loss: ModelCfg = None,
                 gan_loss: ModelCfg = None,
                 hmr: ModelCfg = None,
                 use_visibility: bool = False,
                 flow_convention: Optional[str] = None,
                 ft_kernel: int = 3,
                 bg_kernel: int = 15,
                 bg_fill_hole_only: bool = False,
                 data_preprocessor: Optional[dict] = None,
                 init_cfg: Optional[dict] = None) -> None:
        if data_preprocessor is None:
            data_preprocessor = dict(type='LWGANDataPreprocessor')
        # built here, from our registry, whatever the default scope
        data_preprocessor = _build(data_preprocessor)
        super().__init__(data_preprocessor=data_preprocessor,
                         init_cfg=init_cfg)
        self.generator = _build(generator)
        self.discriminator = _build(discriminator)
        self.body_model = _build(body_model, BODY_MODELS)
        self.flow_composer = FlowComposer(rasterizer,
                                          use_visibility=use_visibility)
        self.cond_encoder = _build(cond_encoder)
        self._release_face_uv = None
        if self.cond_encoder is None and getattr(
                self.body_model, 'face_uv', None) is None:
            raise ValueError(
                'no cond_encoder given and the body model file has no '
                "'face_uv': give cond_encoder=dict(type='CondMapEncoder', "
                "mode='uv', uv_mapping=<the release's mapper.txt>)")
        self.pixel_loss = _build(pixel_loss)
        self.perceptual_loss = _build(perceptual_loss)
        self.face_loss = _build(face_loss)
        self.mask_loss = _build(mask_loss)
        self.tv_loss = _build(tv_loss)
        self.gan_loss = _build(gan_loss)
        self.hmr = _build(hmr)
        # Frozen parts: no gradients, so MMSeparateDistributedDataParallel
        # leaves them alone.
        set_requires_grad(self.body_model, False)
        set_requires_grad(self.hmr, False)
        self.flow_convention = resolve_flow_convention(
            flow_convention,
            getattr(self.generator, 'fusion_align_corners', None))
        #: ``grid_sample`` convention of every warp of the flow T
        self.align_corners = self.flow_convention == 'release'
        if self.align_corners:
            self.flow_composer.rasterizer.cull_backfaces = True
            self._release_face_uv = _release_face_uv_of(self.body_model)
        self.ft_kernel = ft_kernel
        self.bg_kernel = bg_kernel
        self.bg_fill_hole_only = bool(bg_fill_hole_only)
        # Pretrained frozen networks and the body model are loaded from the
        # user's own files: keep them out of checkpoints (size; the SMPL
        # licence forbids redistributing its data).
        self._register_state_dict_hook(_drop_external_keys)
        self.register_load_state_dict_post_hook(_ignore_missing_external)

    # ------------------------------------------------------------------
    # geometry
    # ------------------------------------------------------------------
    def _cond(self, fragments) -> Tensor:
        if self.cond_encoder is not None:
            return self.cond_encoder(fragments)
        face_uv = self._release_face_uv
        if face_uv is None:
            face_uv = self.body_model.face_uv
        return uv_cond_map(fragments, face_uv.to(fragments.bary.device))

    def project(self, theta: Tensor, shape: Optional[Tensor] = None,
                pose: Optional[Tensor] = None) -> Tuple[Tensor, Tensor]:
        """Thetas -> NDC meshes and keypoints.

        Args:
            theta (Tensor): (N, 85) ``[cam (3), pose (72), shape (10)]``.
            shape (Tensor, optional): (N, 10) betas replacing the theta's.
            pose (Tensor, optional): (N, 72) pose replacing the theta's.

        Returns:
            tuple[Tensor, Tensor]: NDC vertices (N, V, 3) (weak
            perspective, ``y`` down) and NDC keypoints (N, K, 2) (the body
            model's extra regressor when present, e.g. COCO-plus, else its
            joints).
        """
        cam, th_pose, betas = split_theta(theta, self.body_model.num_betas)
        out = self.body_model(th_pose if pose is None else pose,
                              betas if shape is None else shape)
        verts = weak_perspective_project(out['vertices'], cam)
        kps = out.get('keypoints_extra')
        if kps is None:
            kps = out['joints']
        kps = weak_perspective_project(kps, cam)[..., :2]
        return verts, kps

    @torch.no_grad()
    def source_geometry(self, src_ndc: Tensor) -> Dict[str, Tensor]:
        """Everything the sources give, rasterized once.

        Args:
            src_ndc (Tensor): (N, S, V, 3) NDC vertices of S sources each.

        Returns:
            dict[str, Tensor]: ``src_ndc``, ``src_fragments`` (batch N * S),
            ``src_visible`` (N, S, F) bool or None (``use_visibility``),
            ``src_cond`` (N, S, 3, H, W), ``src_body`` (N, S, 1, H, W) and
            the release's masks ``src_bg_mask`` / ``src_fg_mask`` /
            ``bg_input_mask`` (N, S, 1, H, W) in {0, 1}.
        """
        N, S = src_ndc.shape[:2]
        faces = self.body_model.faces
        frags = self.flow_composer.rasterize(src_ndc.flatten(0, 1), faces)
        body = (frags.face_idx >= 0).unsqueeze(1).float()
        masks = lwgan_masks(body, body, self.ft_kernel, self.bg_kernel)
        visible = self.flow_composer.visible_faces(frags, faces.shape[0])

        def per_source(x: Tensor) -> Tensor:
            return x.reshape(N, S, *x.shape[1:])

        return dict(
            src_ndc=src_ndc,
            src_fragments=frags,
            src_visible=None if visible is None else per_source(visible),
            src_cond=per_source(self._cond(frags)),
            src_body=per_source(body),
            src_bg_mask=per_source(masks['src_bg_mask']),
            src_fg_mask=per_source(masks['src_fg_mask']),
            bg_input_mask=per_source(masks['bg_input_mask']))

    @torch.no_grad()
    def target_geometry(self, src_geo: Dict[str, Tensor], tgt_ndc: Tensor,
                        compose: Optional[Callable] = None
                        ) -> Dict[str, Tensor]:
        """Target renders and their flows to the sources.

        Args:
            src_geo (dict): :meth:`source_geometry` of N source sets, or of
                one set shared by all targets.
            tgt_ndc (Tensor): (N, V, 3) target NDC vertices.
            compose (callable, optional): replaces
                ``flow_composer.compose`` (same signature; e.g. the
                benchmark's per-sample loop of the release).

        Returns:
            dict[str, Tensor]: ``tgt_fragments``, ``flow`` (N, S, H, W, 2)
            (``align_corners=False`` pixel centres, sampled per
            :attr:`flow_convention`; -2 off the body), ``tgt_cond``
            (N, 3, H, W), ``tgt_body`` (N, 1, H, W) and ``tgt_bg_mask``
            (N, 1, H, W), the eroded target background.
        """
        faces = self.body_model.faces
        frags = self.flow_composer.rasterize(tgt_ndc, faces)
        compose = compose or self.flow_composer.compose
        flow = compose(frags, src_geo['src_ndc'], faces,
                       src_geo['src_visible'])
        body = (frags.face_idx >= 0).unsqueeze(1).float()
        return dict(tgt_fragments=frags, flow=flow, tgt_cond=self._cond(frags),
                    tgt_body=body, tgt_bg_mask=erode(1.0 - body,
                                                     self.ft_kernel))

    @torch.no_grad()
    def compute_geometry(self,
                         src_smpl: Tensor,
                         tgt_smpl: Tensor,
                         keep_src_shape: bool = False) -> Dict[str, Tensor]:
        """Meshes, flows, condition maps and masks of a batch of pairs:
        :meth:`project`, :meth:`source_geometry`, :meth:`target_geometry`.

        Args:
            src_smpl (Tensor): (B, S, 85) source thetas.
            tgt_smpl (Tensor): (B, 85) target thetas.
            keep_src_shape (bool): pose the target with the first source's
                shape (motion imitation of another person); False uses the
                target's own shape (training, self-imitation).

        Returns:
            dict[str, Tensor]: the keys of both geometry methods (``flow``
            (B, S, H, W, 2), ``src_cond`` (B, S, 3, H, W), ``tgt_cond``
            (B, 3, H, W), ``src_body`` (B, S, 1, H, W), ``tgt_body``
            (B, 1, H, W), masks ``src_bg_mask`` / ``src_fg_mask`` /
            ``bg_input_mask`` (B, S, 1, H, W) and ``tgt_bg_mask``
            (B, 1, H, W)...) and ``tgt_kps`` (B, K, 2) NDC keypoints.
        """
        B, S = src_smpl.shape[:2]
        src_ndc, _ = self.project(src_smpl.reshape(B * S, -1))
        shape = src_smpl[:, 0, -self.body_model.num_betas:] \
            if keep_src_shape else None
        tgt_ndc, tgt_kps = self.project(tgt_smpl, shape)
        geo = self.source_geometry(src_ndc.reshape(B, S, *src_ndc.shape[1:]))
        geo.update(self.target_geometry(geo, tgt_ndc), tgt_kps=tgt_kps)
        return geo

    def warp(self, img: Tensor, flow: Tensor) -> Tensor:
        """Warp (B, C, H, W) images with (B, H, W, 2) flows."""
        return F.grid_sample(img, flow.to(img.dtype), mode='bilinear',
                             padding_mode='zeros',
                             align_corners=self.align_corners)

    def source_inputs(self, src_img: Tensor,
                      geo: Dict[str, Tensor]) -> Dict[str, Tensor]:
        """G_BG's and G_SID's inputs.

        Args:
            src_img (Tensor): (B, S, 3, H, W) in [-1, 1].
            geo (dict): holds :meth:`source_geometry`'s keys.

        Returns:
            dict[str, Tensor]: ``bg_inputs`` (B, 4, H, W): the first source
            with the body region (eroded background mask, ``bg_kernel``)
            blanked, plus that mask; ``src_inputs`` (B, S, 6, H, W): the
            sources with the background removed, plus their cond maps.
        """
        bg_mask = geo['bg_input_mask'][:, 0]
        bg_inputs = torch.cat([src_img[:, 0] * bg_mask, bg_mask], dim=1)
        src_inputs = torch.cat([src_img * geo['src_fg_mask'], geo['src_cond']],
                               dim=2)
        return dict(bg_inputs=bg_inputs, src_inputs=src_inputs)

    def target_inputs(self, src_img0: Tensor,
                      geo: Dict[str, Tensor]) -> Dict[str, Tensor]:
        """G_TSF's input.

        Args:
            src_img0 (Tensor): (B, 3, H, W) the first source of each target,
                or (1, 3, H, W) shared by all.
            geo (dict): holds :meth:`target_geometry`'s keys.

        Returns:
            dict[str, Tensor]: ``warped`` (B, 3, H, W) = I_syn, the first
            source warped by T, and ``tsf_inputs`` (B, 6, H, W) =
            ``[I_syn, target cond map]``.
        """
        flow = geo['flow'][:, 0]
        warped = self.warp(src_img0.expand(flow.shape[0], -1, -1, -1), flow)
        return dict(warped=warped,
                    tsf_inputs=torch.cat([warped, geo['tgt_cond']], dim=1))

    def generator_inputs(self, src_img: Tensor,
                         geo: Dict[str, Tensor]) -> Dict[str, Tensor]:
        """The three streams' inputs: :meth:`source_inputs` and
        :meth:`target_inputs` (``src_img`` (B, S, 3, H, W) in [-1, 1],
        ``geo`` from :meth:`compute_geometry`)."""
        out = self.source_inputs(src_img, geo)
        out.update(self.target_inputs(src_img[:, 0], geo))
        return out

    def run_generator(self, src_img: Tensor, src_smpl: Tensor,
                      tgt_smpl: Tensor, keep_src_shape: bool = False
                      ) -> Tuple[Dict[str, Tensor], Dict[str, Tensor]]:
        """Geometry + generator. Returns (generator outputs, geometry); the
        geometry dict also holds the generator inputs."""
        geo = self.compute_geometry(src_smpl, tgt_smpl, keep_src_shape)
        geo.update(self.generator_inputs(src_img, geo))
        out = self.generator(geo['bg_inputs'], geo['src_inputs'],
                             geo['tsf_inputs'], geo['flow'])
        if self.bg_fill_hole_only:
            out = self.keep_known_background(out, geo, src_img[:, 0])
        return out, geo

    def keep_known_background(self, out: Dict[str, Tensor],
                              geo: Dict[str, Tensor],
                              src_img0: Tensor) -> Dict[str, Tensor]:
        """``bg_fill_hole_only``: replace the generator's background by
        the first source's pixels where they are known and composite the
        images again over it.

        Args:
            out (dict): generator outputs: ``bg`` and ``tsf_color`` /
                ``tsf_mask`` (and ``src_color`` / ``src_mask`` for
                generators with a source stream).
            geo (dict): holds ``bg_input_mask`` (B, S, 1, H, W).
            src_img0 (Tensor): (B, 3, H, W) the first source.

        Returns:
            dict: ``out`` with ``bg``, ``tsf_img`` (and ``src_img``)
            recomputed.
        """
        from ..generators.lwb_generator import compose
        out = dict(out)
        keep = geo['bg_input_mask'][:, 0]
        bg = keep_known_pixels(src_img0.to(out['bg'].dtype), out['bg'], keep)
        out['bg'] = bg
        out['tsf_img'] = compose(out['tsf_color'], out['tsf_mask'], bg)
        if 'src_color' in out:
            out['src_img'] = compose(out['src_color'], out['src_mask'],
                                     bg.unsqueeze(1))
        return out

    # ------------------------------------------------------------------
    # inference: a source set encoded once, any number of targets
    # ------------------------------------------------------------------
    @torch.no_grad()
    def encode_sources(self, src_img: Tensor, src_smpl: Tensor,
                       background: Union[str, Tensor] = 'generated'
                       ) -> Dict[str, Any]:
        """Everything about one source set that the targets reuse: the
        geometry (rasterized once), G_SID's cache and the background.

        Args:
            src_img (Tensor): (S, 3, H, W) source images in [-1, 1].
            src_smpl (Tensor): (S, 85) their thetas.
            background (str | Tensor): ``'generated'`` (G_BG's output),
                ``'original'`` (the first source's own pixels, G_BG's
                inside the region its body covers; what ``'generated'``
                gives too with ``bg_fill_hole_only``), ``'inpainted'`` (the
                first source's own pixels, its silhouette grown by
                :func:`~.background.inpaint_kernel` pixels filled by
                ``cv2.inpaint``; no G_BG) or a (1, 3, H, W) image in
                [-1, 1].

        Returns:
            dict: ``geo`` (:meth:`source_geometry` of the set, batch 1, plus
            ``bg_inputs`` / ``src_inputs``), ``cache``
            (``generator.encode_sources``), ``bg`` (1, 3, H, W) and ``img0``
            (1, 3, H, W), the first source.
        """
        src_ndc, _ = self.project(src_smpl)
        geo = self.source_geometry(src_ndc[None])
        geo.update(self.source_inputs(src_img[None], geo))
        cache = self.generator.encode_sources(geo['src_inputs'], decode=False)
        if isinstance(background, Tensor):
            bg = background
        elif background not in BACKGROUNDS:
            raise ValueError(f"background must be one of {BACKGROUNDS} or an "
                             f'image tensor, got {background!r}')
        elif background == 'inpainted':
            # the hole: the first source's silhouette grown by a few pixels
            # (not G_BG's wide bg_kernel input hole)
            k = inpaint_kernel(src_img.shape[-1])
            bg = inpaint_hole(src_img[:1],
                              erode(1.0 - geo['src_body'][:, 0], k))
        else:
            bg = self.generator.bg_net(geo['bg_inputs'])
            # bg_fill_hole_only: 'generated' keeps the known pixels too
            if background == 'original' or self.bg_fill_hole_only:
                bg = keep_known_pixels(src_img[:1], bg,
                                       geo['bg_input_mask'][:, 0])
        return dict(geo=geo, cache=cache, bg=bg, img0=src_img[:1])

    @torch.no_grad()
    def target_frames_inputs(self, enc: Dict[str, Any], tgt_ndc: Tensor,
                             compose: Optional[Callable] = None
                             ) -> Dict[str, Tensor]:
        """:meth:`target_geometry` and :meth:`target_inputs` of N target
        meshes (N, V, 3) against an encoded source set."""
        geo = self.target_geometry(enc['geo'], tgt_ndc, compose)
        geo.update(self.target_inputs(enc['img0'], geo))
        return geo

    @torch.no_grad()
    def decode_targets(self, enc: Dict[str, Any], tgt_ndc: Tensor,
                       tsf: Optional[Callable] = None
                       ) -> Dict[str, Tensor]:
        """Synthesize N target frames against an encoded source set.

        Args:
            enc (dict): :meth:`encode_sources`.
            tgt_ndc (Tensor): (N, V, 3) target NDC vertices
                (:meth:`project`).
            tsf (callable, optional): runs G_TSF instead of
                ``generator.decode_targets`` (same signature; e.g. the
                optimised :class:`~mmlwgan.models.generators.FastTSF`).

        Returns:
            dict[str, Tensor]: ``img`` (N, 3, H, W) in [-1, 1], ``mask``
            (N, 1, H, W) (background weight), and the target geometry and
            inputs (``tgt_fragments``, ``flow``, ``tgt_cond``, ``warped``,
            ``tsf_inputs``...).
        """
        geo = self.target_frames_inputs(enc, tgt_ndc)
        run = self.generator.decode_targets if tsf is None else tsf
        out = run(geo['tsf_inputs'], geo['flow'], enc['cache'], enc['bg'])
        geo.update(img=out['tsf_img'], mask=out['tsf_mask'])
        return geo

    # ------------------------------------------------------------------
    # losses
    # ------------------------------------------------------------------
    def _disc_input(self, img: Tensor, cond: Tensor) -> Tensor:
        return torch.cat([img, cond], dim=1)

    def generator_losses(self, out: Dict[str, Tensor],
                         geo: Dict[str, Tensor], src_img: Tensor,
                         tgt_img: Tensor) -> Dict[str, Tensor]:
        """The generator's loss terms (each already weighted)."""
        losses = {}
        has_src = 'src_img' in out  # W_C / W_T have no source stream
        if self.pixel_loss is not None and has_src:
            losses['loss_rec'] = self.pixel_loss(out['src_img'], src_img)
        if self.perceptual_loss is not None:
            losses['loss_tsf'] = self.perceptual_loss(out['tsf_img'], tgt_img)
        if self.face_loss is not None:
            losses['loss_face'] = self.face_loss(
                out['tsf_img'], tgt_img, keypoints=geo['tgt_kps'])
        if self.mask_loss is not None:
            loss = self.mask_loss(out['tsf_mask'], geo['tgt_bg_mask'])
            if has_src:
                loss = loss + self.mask_loss(out['src_mask'].flatten(0, 1),
                                             geo['src_bg_mask'].flatten(0, 1))
            losses['loss_mask'] = loss
        if self.tv_loss is not None:
            loss = self.tv_loss(out['tsf_mask'])
            if has_src:
                loss = loss + self.tv_loss(out['src_mask'].flatten(0, 1))
            losses['loss_smooth'] = loss
        if self.discriminator is not None and self.gan_loss is not None:
            fake = self._disc_input(out['tsf_img'], geo['tgt_cond'])
            losses['loss_gan_g'] = self.gan_loss(
                self.discriminator(fake), target_is_real=True, is_disc=False)
        if not losses:
            raise ValueError('no generator loss is configured')
        return losses

    def discriminator_losses(self, fake_img: Tensor, tgt_img: Tensor,
                             cond: Tensor) -> Dict[str, Tensor]:
        pred_real = self.discriminator(self._disc_input(tgt_img, cond))
        pred_fake = self.discriminator(
            self._disc_input(fake_img.detach(), cond))
        return dict(
            loss_gan_d_real=self.gan_loss(pred_real, True, is_disc=True),
            loss_gan_d_fake=self.gan_loss(pred_fake, False, is_disc=True))

    # ------------------------------------------------------------------
    # mmengine API
    # ------------------------------------------------------------------
    def train_step(self, data: Union[dict, tuple, list],
                   optim_wrapper: OptimWrapperDict) -> Dict[str, Tensor]:
        """One generator step, then one discriminator step (the release
        updates D every iteration)."""
        data = self.data_preprocessor(data, True)
        inputs = data['inputs']
        src_img, tgt_img = inputs['src_img'], inputs['tgt_img']
        g_optim = optim_wrapper['generator']
        with g_optim.optim_context(self.generator):
            set_requires_grad(self.discriminator, False)
            out, geo = self.run_generator(src_img, inputs['src_smpl'],
                                          inputs['tgt_smpl'])
            g_losses = self.generator_losses(out, geo, src_img, tgt_img)
            g_loss, log_vars = self.parse_losses(g_losses)
        g_optim.update_params(g_loss)

        if self.discriminator is not None and self.gan_loss is not None:
            set_requires_grad(self.discriminator, True)
            d_optim = optim_wrapper['discriminator']
            with d_optim.optim_context(self.discriminator):
                d_losses = self.discriminator_losses(out['tsf_img'], tgt_img,
                                                     geo['tgt_cond'])
                d_loss, d_log = self.parse_losses(d_losses)
            d_optim.update_params(d_loss)
            # d_log's own 'loss' (D's total) must not replace G's
            total = log_vars['loss'] + d_log['loss']
            log_vars.update(d_log)
            log_vars['loss'] = total
        return log_vars

    def forward(self,
                inputs: Dict[str, Tensor],
                data_samples: Optional[List] = None,
                mode: str = 'tensor'):
        """mmengine's entry point.

        Args:
            inputs (dict): preprocessed batch: ``src_img`` (B, S, 3, H, W) in
                [-1, 1], ``src_smpl`` (B, S, 85), ``tgt_smpl`` (B, 85) and,
                for ``'loss'``, ``tgt_img`` (B, 3, H, W).
            data_samples (list, optional): :class:`LWGANDataSample` list.
            mode (str): ``'tensor'`` (generator outputs), ``'predict'``
                (data samples with ``pred_img`` etc.) or ``'loss'``
                (generator loss dict).
        """
        out, geo = self.run_generator(inputs['src_img'], inputs['src_smpl'],
                                      inputs['tgt_smpl'])
        if mode == 'tensor':
            return out
        if mode == 'loss':
            return self.generator_losses(out, geo, inputs['src_img'],
                                         inputs['tgt_img'])
        if mode == 'predict':
            return self.pack_predictions(out, geo, data_samples)
        raise ValueError(f"mode must be 'tensor', 'predict' or 'loss', got "
                         f'{mode!r}')

    def pack_predictions(self, out: Dict[str, Tensor], geo: Dict[str, Tensor],
                         data_samples: Optional[List]) -> List:
        from mmlwgan.structures import LWGANDataSample
        B = out['tsf_img'].shape[0]
        if data_samples is None:
            data_samples = [LWGANDataSample() for _ in range(B)]
        for i, sample in enumerate(data_samples):
            sample.pred_img = out['tsf_img'][i].detach()
            sample.pred_mask = out['tsf_mask'][i].detach()
            sample.warped_img = geo['warped'][i].detach()
            sample.body_mask = geo['tgt_body'][i].detach()
        return data_samples

    def train(self, mode: bool = True) -> 'LiquidWarpingGAN':
        super().train(mode)
        # frozen networks stay in eval mode (BN statistics, dropout)
        if self.hmr is not None:
            self.hmr.eval()
        return self
