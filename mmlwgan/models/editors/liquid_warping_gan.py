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
"""
from typing import Dict, List, Optional, Tuple, Union

import torch
import torch.nn.functional as F
from mmengine.model import BaseModel
from mmengine.optim import OptimWrapperDict
from torch import Tensor, nn

from mmlwgan.registry import BODY_MODELS, MODELS
from ..body import split_theta, weak_perspective_project
from ..flows import FlowComposer, lwgan_masks
from ..renderers import release_face_uv, uv_cond_map

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

    def _mesh(self, theta: Tensor,
              shape: Optional[Tensor] = None) -> Tuple[Tensor, Tensor]:
        """(N, 85) theta -> NDC vertices (N, V, 3) and NDC keypoints
        (N, K, 2) (the body model's extra regressor when present, e.g.
        COCO-plus, else its joints)."""
        cam, pose, betas = split_theta(theta)
        if shape is not None:
            betas = shape
        out = self.body_model(pose, betas)
        verts = weak_perspective_project(out['vertices'], cam)
        kps = out.get('keypoints_extra')
        if kps is None:
            kps = out['joints']
        kps = weak_perspective_project(kps, cam)[..., :2]
        return verts, kps

    @torch.no_grad()
    def compute_geometry(self,
                         src_smpl: Tensor,
                         tgt_smpl: Tensor,
                         keep_src_shape: bool = False) -> Dict[str, Tensor]:
        """Meshes, flows, condition maps and masks of a batch.

        Args:
            src_smpl (Tensor): (B, S, 85) source thetas.
            tgt_smpl (Tensor): (B, 85) target thetas.
            keep_src_shape (bool): pose the target with the first source's
                shape (motion imitation of another person); False uses the
                target's own shape (training, self-imitation).

        Returns:
            dict[str, Tensor]: ``flow`` (B, S, H, W, 2) (``align_corners=
            False`` pixel centres; sampled per :attr:`flow_convention`), ``src_cond`` (B, S, 3, H, W), ``tgt_cond``
            (B, 3, H, W), ``src_body`` (B, S, 1, H, W), ``tgt_body``
            (B, 1, H, W), masks ``src_bg_mask`` / ``src_fg_mask`` /
            ``bg_input_mask`` (B, S, 1, H, W) and ``tgt_bg_mask``
            (B, 1, H, W), and ``tgt_kps`` (B, K, 2) NDC keypoints.
        """
        B, S = src_smpl.shape[:2]
        src_verts, _ = self._mesh(src_smpl.reshape(B * S, -1))
        shape = src_smpl[:, 0, -10:] if keep_src_shape else None
        tgt_verts, tgt_kps = self._mesh(tgt_smpl, shape)
        faces = self.body_model.faces
        geo = self.flow_composer(
            src_verts.reshape(B, S, *src_verts.shape[1:]), tgt_verts, faces)
        flow = geo['flow']  # sampled as is in both conventions
        src_cond = self._cond(geo['src_fragments'])
        tgt_cond = self._cond(geo['tgt_fragments'])
        src_body = geo['src_body']  # (B, S, 1, H, W)
        tgt_body = geo['tgt_body']
        masks = lwgan_masks(
            src_body.flatten(0, 1), tgt_body.repeat_interleave(S, 0),
            self.ft_kernel, self.bg_kernel)
        out = dict(
            flow=flow,
            src_cond=src_cond.reshape(B, S, *src_cond.shape[1:]),
            tgt_cond=tgt_cond,
            src_body=src_body,
            tgt_body=tgt_body,
            tgt_bg_mask=masks['tgt_bg_mask'].reshape(B, S, 1,
                                                     *flow.shape[2:4])[:, 0],
            tgt_kps=tgt_kps)
        for key in ('src_bg_mask', 'src_fg_mask', 'bg_input_mask'):
            out[key] = masks[key].reshape(B, S, *masks[key].shape[1:])
        return out

    def warp(self, img: Tensor, flow: Tensor) -> Tensor:
        """Warp (B, C, H, W) images with (B, H, W, 2) flows."""
        return F.grid_sample(img, flow.to(img.dtype), mode='bilinear',
                             padding_mode='zeros',
                             align_corners=self.align_corners)

    def generator_inputs(self, src_img: Tensor,
                         geo: Dict[str, Tensor]) -> Dict[str, Tensor]:
        """The three streams' inputs.

        Args:
            src_img (Tensor): (B, S, 3, H, W) in [-1, 1].
            geo (dict): output of :meth:`compute_geometry`.

        Returns:
            dict[str, Tensor]: ``bg_inputs`` (B, 4, H, W): first source with
            the body region (eroded background mask, ``bg_kernel``) blanked,
            plus that mask; ``src_inputs`` (B, S, 6, H, W): sources with the
            background removed, plus their cond maps; ``tsf_inputs``
            (B, 6, H, W): the first source warped by T (I_syn), plus the
            target cond map; ``warped`` (B, 3, H, W) = I_syn.
        """
        bg_mask = geo['bg_input_mask'][:, 0]
        bg_inputs = torch.cat([src_img[:, 0] * bg_mask, bg_mask], dim=1)
        src_inputs = torch.cat([src_img * geo['src_fg_mask'], geo['src_cond']],
                               dim=2)
        warped = self.warp(src_img[:, 0], geo['flow'][:, 0])
        tsf_inputs = torch.cat([warped, geo['tgt_cond']], dim=1)
        return dict(bg_inputs=bg_inputs, src_inputs=src_inputs,
                    tsf_inputs=tsf_inputs, warped=warped)

    def run_generator(self, src_img: Tensor, src_smpl: Tensor,
                      tgt_smpl: Tensor, keep_src_shape: bool = False
                      ) -> Tuple[Dict[str, Tensor], Dict[str, Tensor]]:
        """Geometry + generator. Returns (generator outputs, geometry); the
        geometry dict also holds the generator inputs."""
        geo = self.compute_geometry(src_smpl, tgt_smpl, keep_src_shape)
        geo.update(self.generator_inputs(src_img, geo))
        out = self.generator(geo['bg_inputs'], geo['src_inputs'],
                             geo['tsf_inputs'], geo['flow'])
        return out, geo

    # ------------------------------------------------------------------
    # losses
    # ------------------------------------------------------------------
    def _disc_input(self, img: Tensor, cond: Tensor) -> Tensor:
        return torch.cat([img, cond], dim=1)

    def generator_losses(self, out: Dict[str, Tensor], geo: Dict[str, Tensor],
                         src_img: Tensor, tgt_img: Tensor) -> Dict[str, Tensor]:
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
