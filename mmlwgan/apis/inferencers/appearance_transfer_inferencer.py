# Copyright (c) mmlwgan contributors. All rights reserved.
"""Appearance transfer: the source person wears the reference's clothes."""
from typing import Any, Dict, Optional, Sequence

import torch

from mmlwgan.registry import INFERENCERS
from mmlwgan.utils.errors import InferenceInputError
from .base_lwgan_inferencer import BaseLWGANInferencer, Sink
from .inputs import open_reference, resize_image
from .utils import InferenceRun

__all__ = ['AppearanceTransferInferencer']


def merge_caches(caches: Sequence[Dict[str, Any]]) -> Dict[str, Any]:
    """Stack cached source-stream features of several encodings along the
    source axis (each (N or 1, S_i, C, h, w); batch-1 caches are broadcast
    to the largest batch)."""
    n = max(f.shape[0] for c in caches for f in c['features']
            if f is not None)
    feats = []
    for p in range(len(caches[0]['features'])):
        parts = [c['features'][p] for c in caches]
        if any(x is None for x in parts):
            feats.append(None)
            continue
        parts = [x.expand(n, *x.shape[1:]) if x.shape[0] == 1 else x
                 for x in parts]
        feats.append(torch.cat(parts, dim=1))
    return dict(features=feats,
                num_sources=sum(c['num_sources'] for c in caches))


@INFERENCERS.register_module()
class AppearanceTransferInferencer(BaseLWGANInferencer):
    """Dress the source person in the reference person's clothes.

    As the release's swapper: the target mesh is the source's own (pose,
    shape, camera); the faces of ``keep_parts`` (the head by default) are
    sampled from the source and all other faces from the reference, using
    the body model's per-face part labels. The target stream gets both
    warped images, and at every fusion point the warped reference features
    (selected parts) and the warped source features (kept parts) are
    summed into the target features (the generator's fusion over two
    sources). The source is encoded once; each reference frame (an image,
    or every frame of a folder / video) gives one output frame.

    See :class:`BaseLWGANInferencer` for the constructor (``part_file`` for
    a real SMPL without part labels).
    """

    task = 'transfer'
    call_args = ('src', 'ref', 'src_smpl', 'ref_smpl', 'out_dir')
    preprocess_kwargs = BaseLWGANInferencer.preprocess_kwargs | {
        'ref', 'ref_smpl', 'ref_bbox', 'keep_parts'
    }

    def __call__(self, src: Any, ref: Any, src_smpl: Any = None,
                 ref_smpl: Any = None, out_dir: Optional[str] = None,
                 **kwargs: Any) -> Dict[str, Any]:
        """Run appearance transfer.

        Every keyword reaches one stage: ``preprocess_kwargs`` (inputs,
        targets, personalisation), ``forward_kwargs`` (synthesis),
        ``visualize_kwargs`` (``side_by_side``) or ``postprocess_kwargs``
        (``out_dir``, ``save_frames``, ``return_frames``, ``fps``); an
        unknown keyword raises a ``ValueError`` naming it.

        Args:
            src: the person (image path / folder / array); the first source
                gives the pose and the kept parts.
            ref: the clothes: image, folder of images, video or RGB
                array(s) (a SMPL sequence alone has no clothes).
            src_smpl, ref_smpl: SMPL parameters (arrays or files); default:
                the model's HMR.
            out_dir (str, optional): output folder (None: return frames).
            output_name (str, optional): default ``<source>-wears-<ref>``.
            keep_parts (Sequence[str]): body parts taken from the source
                (names of ``body_model.part_names``); every other part comes
                from the reference. Defaults to ``('head',)``.
            batch_size (int): reference frames processed together.
            background: ``'generated'``, ``'original'``, ``'inpainted'``
                or an image.
            front_warp (bool): paste the source's own pixels on the kept
                parts (the release's ``front_warp`` for swapping).
            side_by_side (bool): also write source | reference | result.
            save_frames (bool): also write PNG frames.
            return_frames (bool, optional): default: when ``out_dir`` is
                None.
            src_bbox, ref_bbox: person boxes for HMR crops.
            personalize_steps, personalize_lr, personalized_weights,
                save_personalized: personalisation on the source, see
                :class:`MotionImitationInferencer`.
            fps (float): output frame rate.

        Returns:
            dict: ``video``, ``image`` (``<name>.png`` when the reference is
            one image), ``side_by_side``, ``frames_dir``, ``num_frames``,
            ``fps``, ``frames``, ``src_smpl``, ``ref_smpl``.
        """
        return super().__call__(src, ref, src_smpl, ref_smpl, out_dir,
                                **kwargs)

    def preprocess(self,
                   src: Any,
                   ref: Any,
                   src_smpl: Any = None,
                   ref_smpl: Any = None,
                   output_name: Optional[str] = None,
                   keep_parts: Sequence[str] = ('head', ),
                   batch_size: int = 8,
                   background: Any = 'generated',
                   src_bbox: Any = None,
                   ref_bbox: Any = None,
                   personalize_steps: int = 0,
                   personalize_lr: Optional[float] = None,
                   personalized_weights: Optional[str] = None,
                   save_personalized: Optional[str] = None) -> InferenceRun:
        """Read the sources and the reference (the clothes), select the
        kept parts and personalise the generator when asked (see
        :meth:`__call__` for the arguments); nothing is written."""
        if isinstance(keep_parts, str):
            keep_parts = (keep_parts, )
        bg_opt = self.resolve_background(background)
        keep = self.faces_of_parts(keep_parts)
        if keep.all():
            raise InferenceInputError(
                f'keep_parts {list(keep_parts)} covers the whole body: '
                'nothing would come from the reference')
        gen = self.model.generator
        if not getattr(gen, 'has_source_stream', False):
            raise InferenceInputError(
                f'appearance transfer needs a generator with a source '
                f'stream (LWBGenerator), not {type(gen).__name__}')
        state = self.prepare_sources(src, src_smpl, src_bbox)
        ref_src = open_reference(ref, ref_smpl, 'reference',
                                 self.body_model.num_betas)
        if not ref_src.has_frames:
            raise InferenceInputError(
                'appearance transfer takes the clothes from reference '
                'images: give an image, a folder or a video as the reference'
                ' (with ref_smpl for its SMPL), not a SMPL sequence alone')
        ref_thetas = self.reference_thetas(ref_src, ref_bbox, batch_size)
        name = self._output_name(output_name, state.name, 'wears',
                                 ref_src.name)
        self.apply_personalization(state, personalize_steps, personalize_lr,
                                   personalized_weights, save_personalized)
        return InferenceRun(
            name, state, bg_opt, batch_size, ref_src.num_frames,
            single_frame=ref_src.num_frames == 1,
            results=dict(src_smpl=state.theta.cpu().numpy(),
                         ref_smpl=ref_thetas),
            keep=keep, ref_src=ref_src, ref_thetas=ref_thetas)

    def forward(self, run: InferenceRun, sink: Sink,
                front_warp: bool = False) -> None:
        """Encode the source once, then dress it in every reference frame,
        batch by batch into ``sink`` (each batch with its resized reference
        frames as ``panels``).

        Args:
            run (InferenceRun): from :meth:`preprocess`.
            sink (callable): receives every batch (see
                :meth:`BaseLWGANInferencer.forward`).
            front_warp (bool): paste the source's own pixels on the kept
                parts.
        """
        state, keep, gen = run.state, run.keep, self.model.generator
        n, batch_size = run.num_frames, run.batch_size
        with torch.inference_mode():
            enc = self.encode_sources(state, run.background)
            src_geo = enc['geo']
            composer = self.model.flow_composer
            # the target is the main source's own mesh
            tgt_frags = self.rasterize(src_geo['src_ndc'][0, :1])
            tgt_cond = src_geo['src_cond'][0, :1]
            kept = keep.unsqueeze(0).expand(state.num_sources, -1)
            if src_geo['src_visible'] is not None:
                kept = kept & src_geo['src_visible'][0]
            src_flows = composer.compose(tgt_frags, src_geo['src_ndc'],
                                         self.faces, kept[None])
            src_warped = self.model.warp(state.imgs[:1], src_flows[:, 0])
            frames_iter = run.ref_src.frames()
            try:
                for start in self._progress(range(0, n, batch_size),
                                            -(-n // batch_size), 'transfer'):
                    stop = min(start + batch_size, n)
                    raw = [next(frames_iter) for _ in range(stop - start)]
                    panels = [resize_image(r, self.image_size) for r in raw]
                    ref_imgs = self.to_tensor(panels)
                    theta = torch.from_numpy(run.ref_thetas[start:stop]).to(
                        self.device)
                    ref_inp = self.source_inputs(ref_imgs, theta)
                    if start == 0:
                        self.check_person(ref_inp['src_body'][:1, 0],
                                          'reference frame',
                                          'the reference SMPL')
                    ref_cache = gen.encode_sources(ref_inp['src_inputs'],
                                                   decode=False)
                    N = stop - start
                    sel = ~keep[None].expand(N, -1)
                    if ref_inp['src_visible'] is not None:
                        sel = sel & ref_inp['src_visible'][:, 0]
                    frags = tgt_frags._replace(
                        face_idx=tgt_frags.face_idx.expand(N, -1, -1),
                        bary=tgt_frags.bary.expand(N, -1, -1, -1),
                        depth=tgt_frags.depth.expand(N, -1, -1))
                    ref_flow = composer.compose(frags, ref_inp['src_ndc'],
                                                self.faces, sel[:, None])
                    flows = torch.cat(
                        [ref_flow, src_flows.expand(N, -1, -1, -1, -1)], 1)
                    warped = self.model.warp(ref_imgs, ref_flow[:, 0]) + \
                        src_warped
                    tsf_inputs = torch.cat(
                        [warped, tgt_cond.expand(N, -1, -1, -1)], 1)
                    cache = merge_caches([ref_cache, enc['cache']])
                    out = gen.decode_targets(tsf_inputs, flows, cache,
                                             enc['bg'])
                    img = out['tsf_img']
                    if front_warp:
                        img = self.paste_region(
                            img, src_warped.expand(N, -1, -1, -1),
                            torch.zeros_like(out['tsf_mask']),
                            frags.face_idx, keep,
                            src_flows[:, 0].expand(N, -1, -1, -1))
                    sink(dict(img=img, start=start, panels=panels))
            finally:
                frames_iter.close()


INFERENCERS.register_module(name='appearance_transfer',
                            module=AppearanceTransferInferencer)
