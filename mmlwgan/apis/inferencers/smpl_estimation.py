# Copyright (c) mmlwgan contributors. All rights reserved.
"""SMPL parameters of the inferencers' images, estimated with the model's
HMR: the person crop (a user box, the person detector's box, or the whole
frame), the crop camera converted to the frame's
(:func:`~mmlwgan.models.body.crop_cam_to_frame_cam`), the 'no person'
errors, and the streaming first pass over a reference's frames.

:class:`SMPLEstimationMixin` is a part of
:class:`~mmlwgan.apis.inferencers.BaseLWGANInferencer` (it uses its
``model``, ``detector``, ``det_score_thr``, ``image_size`` and progress
bars).
"""
from typing import Any, List, Optional, Sequence

import numpy as np
import torch

from mmlwgan.utils.errors import InferenceInputError, NoPersonError
from .inputs import ReferenceSource, resize_image

__all__ = ['SMPLEstimationMixin']


class SMPLEstimationMixin:
    """HMR on person crops, person checks and reference SMPL (a part of
    :class:`~mmlwgan.apis.inferencers.BaseLWGANInferencer`)."""

    def _boxes(self, boxes: Any, n: int, what: str,
               arg: str) -> Optional[np.ndarray]:
        if boxes is None:
            return None
        arr = np.asarray(boxes, dtype=np.float32)
        if arr.ndim == 1:
            arr = arr[None]
        if arr.ndim != 2 or arr.shape[1] < 4 or arr.shape[0] not in (1, n):
            raise InferenceInputError(
                f'{arg}: expected one (x1, y1, x2, y2) box or one per '
                f'{what} ({n}), got shape {arr.shape}')
        if arr.shape[0] == 1:
            arr = np.repeat(arr, n, axis=0)
        bad = (arr[:, 2] <= arr[:, 0]) | (arr[:, 3] <= arr[:, 1])
        if bad.any():
            raise InferenceInputError(
                f'{arg}: box {arr[int(np.argmax(bad))].tolist()} is empty '
                '(needs x2 > x1 and y2 > y1)')
        return arr[:, :4]

    @torch.no_grad()
    def estimate_smpl(self, frames: Sequence[np.ndarray],
                      boxes: Optional[np.ndarray] = None,
                      what: str = 'image', arg: str = 'src_smpl',
                      start: int = 0,
                      missed: Optional[List[int]] = None) -> np.ndarray:
        """SMPL parameters of images with the model's HMR.

        The person crop comes from ``boxes`` (pixels of the given frames),
        else from the detector, else the whole frame (resized) is used.
        Cameras are returned in the NDC of the whole (resized) frame.

        Args:
            frames (Sequence[np.ndarray]): uint8 RGB frames (any size).
            boxes (np.ndarray, optional): (N, 4) person boxes.
            what (str): name of the frames in messages.
            arg (str): the argument that would give SMPL directly.
            start (int): index of the first frame (messages).
            missed (list, optional): when given, a frame in which the
                detector finds nobody is not an error: HMR sees the whole
                frame and its index is appended to ``missed``.

        Returns:
            np.ndarray: (N, 85) float32.

        Raises:
            InferenceInputError: the model has no HMR.
            NoPersonError: the detector finds no person, or HMR returns no
                usable camera.
        """
        from mmlwgan.models.body import (crop_cam_to_frame_cam, crop_person,
                                         prepare_hmr_inputs)
        hmr = getattr(self.model, 'hmr', None)
        if hmr is None:
            raise InferenceInputError(
                f'the {what} has no SMPL parameters and the model has no '
                f'HMR to estimate them: pass {arg}= (CLI: --'
                f'{arg.replace("_", "-")}): a theta array (85,) / (N, 85), '
                'or a SMPL file .pkl/.npz with cams, pose, shape; '
                'or use a config whose model has an `hmr` with its weights')
        H, W = self.image_size
        crops, infos = [], []
        for k, frame in enumerate(frames):
            fh, fw = frame.shape[:2]
            resized = resize_image(frame, (H, W))
            box = None
            if boxes is not None:
                box = boxes[k]
            elif self.detector is not None:
                det = self.detector(frame)
                if det is None and missed is not None:
                    missed.append(start + k)
                elif det is None:
                    raise NoPersonError(self._no_person_message(
                        what, start + k, arg.replace('smpl', 'bbox')))
                else:
                    box = det[:4]
            if box is None:
                crops.append(resized)
                infos.append(None)
                continue
            box = np.asarray(box, dtype=np.float32) * np.array(
                [W / fw, H / fh, W / fw, H / fh], dtype=np.float32)
            crop, info = crop_person(resized, box)
            crops.append(crop)
            infos.append(info)
        hmr_device = next(iter(hmr.parameters()), torch.empty(0)).device
        inputs = prepare_hmr_inputs(crops, device=hmr_device)
        theta = hmr(inputs)[-1].float().cpu().numpy().copy()
        for k, info in enumerate(infos):
            if info is not None:  # crop NDC -> NDC of the resized frame
                with np.errstate(divide='ignore', invalid='ignore'):
                    theta[k, :3] = crop_cam_to_frame_cam(
                        theta[k, :3].astype(np.float64), info, (H, W),
                        strict=False)
        bad = ~np.isfinite(theta).all(1) | (theta[:, 0] <= 0)
        if bad.any():
            k = int(np.argmax(bad))
            raise NoPersonError(
                f'no person found in {what} {start + k}: HMR gives no usable '
                f'body (camera scale {theta[k, 0]:g})')
        return theta.astype(np.float32)

    def _no_person_message(self, what: str, index: int, bbox_arg: str) -> str:
        desc = getattr(self.detector, 'description', 'the person detector')
        flag = bbox_arg.replace('_', '-')
        return (f'no person found in {what} {index}: {desc} found no box '
                f'with score >= {self.det_score_thr}; if it shows a person, '
                f'give its box ({bbox_arg}=, CLI: --{flag}) or another '
                'detector (an mmdet model: --detector-config and '
                '--detector-checkpoint; none: --detector none)')

    def detect_persons(self, images: Sequence[np.ndarray], what: str,
                       bbox_arg: str, start: int = 0) -> None:
        """Raise :class:`NoPersonError` for the first image in which the
        person detector (when there is one) finds nobody; used when the SMPL
        parameters are given, so that a picture without a person is refused
        whatever the SMPL says."""
        if self.detector is None:
            return
        for k, img in enumerate(images):
            if self.detector(img) is None:
                raise NoPersonError(
                    self._no_person_message(what, start + k, bbox_arg))

    def reference_thetas(self, ref: ReferenceSource, ref_bbox: Any = None,
                         batch_size: int = 8,
                         on_missing_person: str = 'error') -> np.ndarray:
        """SMPL parameters of every reference frame: given, or estimated
        with HMR in a first streaming pass over the frames (only the
        (N, 85) parameters are kept).

        Args:
            on_missing_person (str): ``'error'`` (default) or ``'previous'``
                (reuse the last frame's parameters when the detector finds
                nobody; the first frame must have a person). With the HOG
                detector (which misses some people: profile views, unusual
                poses), ``'error'`` means: frames where it finds nobody are
                given to HMR whole, and only a reference in which it finds
                nobody at all is refused.
        """
        if ref.thetas is not None:
            return ref.thetas
        if on_missing_person not in ('error', 'previous'):
            raise ValueError("on_missing_person must be 'error' or "
                             f"'previous', got {on_missing_person!r}")
        boxes = self._boxes(ref_bbox, ref.num_frames, 'reference frame',
                            'ref_bbox')
        out: List[np.ndarray] = []
        chunk: List[np.ndarray] = []
        lenient = on_missing_person == 'error' and boxes is None and getattr(
            self.detector, 'lenient', False)
        missed: Optional[List[int]] = [] if lenient else None

        def flush(start: int) -> None:
            b = None if boxes is None else boxes[start:start + len(chunk)]
            if on_missing_person == 'error':
                out.append(self.estimate_smpl(chunk, b, 'reference frame',
                                              'ref_smpl', start, missed))
            else:
                for k, frame in enumerate(chunk):
                    bb = None if b is None else b[k:k + 1]
                    try:
                        out.append(self.estimate_smpl(
                            [frame], bb, 'reference frame', 'ref_smpl',
                            start + k))
                    except NoPersonError:
                        if not out:
                            raise
                        out.append(out[-1][-1:])
            chunk.clear()

        start = 0
        for frame in self._progress(ref.frames(), ref.num_frames,
                                    'SMPL of the reference'):
            chunk.append(frame)
            if len(chunk) == batch_size:
                flush(start)
                start += batch_size
        if chunk:
            flush(start)
        if missed is not None and len(missed) == ref.num_frames:
            raise NoPersonError(
                self._no_person_message('reference frame', 0, 'ref_bbox') +
                f' (nor in any of the {ref.num_frames} reference frames)')
        thetas = np.concatenate(out, 0)
        if len(thetas) != ref.num_frames:
            raise InferenceInputError(
                f'the reference gave {len(thetas)} frames, expected '
                f'{ref.num_frames}')
        return thetas
