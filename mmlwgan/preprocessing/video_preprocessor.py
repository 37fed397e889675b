# Copyright (c) mmlwgan contributors. All rights reserved.
"""Turn raw videos of one person into the iPER layout (training data).

For one video (a video file or a folder of frames) and its id
``<actor>/<cloth>/<action>``, :class:`VideoPreprocessor` writes::

    <out_root>/images/<id>/frame00000000.png ...   square frames, ``size`` px
    <out_root>/masks/<id>/frame00000000.png ...    person masks (0 / 255)
    <out_root>/smpls/<id>/pose_shape.pkl           cams (N, 3), pose (N, 72),
                                                   shape (N, 10), float32
    <out_root>/smpls/<id>/kps.pkl                  kps (N, 19, 2) in [-1, 1],
                                                   scores (N, 19)
    <out_root>/smpls/<id>/meta.json                boxes, source, frame region

which :class:`mmlwgan.datasets.IPERDataset` reads; :func:`write_splits`
writes ``train.txt`` / ``val.txt``.

Steps:

1. Read the frames (a clear :class:`VideoReadError` for a missing,
   unreadable or empty video); detect the person in each
   (:mod:`~mmlwgan.preprocessing.person_detector`) and keep ONE person with
   :class:`~mmlwgan.preprocessing.PersonTracker` (:class:`NoPersonError`
   names the frame otherwise).
2. Cut every frame with the same square region (around all the person's
   boxes, ``frame_mode='person'``; or the centre square, or the whole frame
   padded) and resize it to ``size`` x ``size``, like iPER's square frames.
3. Run HMR on a person crop of each output frame
   (:func:`~mmlwgan.models.body.crop_person`) and convert its camera from
   the crop's NDC to the output frame's
   (:func:`~mmlwgan.models.body.crop_cam_to_frame_cam`), so
   that ``cams`` project the mesh onto the saved frames.
4. Keypoints: the keypoint estimator's COCO-17 mapped to COCO-plus-19, else
   the fitted mesh's COCO-plus joints projected with the frame camera.
5. Masks: a segmenter's person mask, else the rendered mesh silhouette,
   dilated.

Resumable: a video is written into a temporary folder under
``<out_root>/.tmp`` and moved into its final folders only when complete
(``smpls/<id>`` last: its ``meta.json`` marks the video as done); finished
videos are skipped on a rerun; a failure leaves no partial folder.

Reading frames and the square cut are in :mod:`.frames`, the camera
conversion (with its derivation) in :mod:`mmlwgan.models.body.cameras`;
video ids, finished videos and splits in :mod:`.iper_layout`.
"""
import json
import os
import os.path as osp
import pickle
import shutil
import tempfile
import time
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np
import torch
import torch.nn as nn

from mmlwgan.utils.errors import NoPersonError
from .frames import (FrameSource, VideoReadError, crop_square, map_crop_info,
                     region_transform, square_region)
from .iper_layout import (check_video_id, find_done_videos, is_video_done,
                          video_id_from_path, write_splits)
from .person_detector import (BasePersonDetector, PersonTracker,
                              WholeFrameDetector, _is_url)

__all__ = [
    'VideoReadError', 'VideoPreprocessor', 'map_crop_info', 'square_region',
    'crop_square', 'video_id_from_path', 'write_splits', 'find_done_videos',
    'cocoplus_from_body_output', 'region_transform'
]

_FRAME_TMPL = 'frame{:08d}'


def _chunks(iterable, n: int) -> Iterator[list]:
    chunk = []
    for item in iterable:
        chunk.append(item)
        if len(chunk) == n:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


# ---------------------------------------------------------------------------
# Keypoints from the fitted mesh
# ---------------------------------------------------------------------------
# COCO-plus joint -> SMPL joint / smplx landmark name (when the body model
# has no COCO-plus regressor); head_top has none.
_COCOPLUS_FROM_SMPL = ('right_ankle', 'right_knee', 'right_hip', 'left_hip',
                       'left_knee', 'left_ankle', 'right_wrist',
                       'right_elbow', 'right_shoulder', 'left_shoulder',
                       'left_elbow', 'left_wrist', 'neck', None, 'nose',
                       'leye', 'reye', 'lear', 'rear')


def cocoplus_from_body_output(out: Dict[str, torch.Tensor],
                              joint_names: Sequence[str]
                              ) -> Tuple[torch.Tensor, torch.Tensor]:
    """HMR's 19 COCO-plus joints of a posed body: ``keypoints_extra`` when
    the model has the COCO-plus regressor, else the matching SMPL joints /
    landmarks (``head_top`` then gets confidence 0).

    Returns:
        tuple: joints (B, 19, 3) and confidences (19,).
    """
    extra = out.get('keypoints_extra')
    if extra is not None and extra.shape[1] == 19:
        return extra, extra.new_ones(19)
    joints = out['joints']
    idx, conf = [], []
    names = list(joint_names)
    for name in _COCOPLUS_FROM_SMPL:
        if name is not None and name in names and names.index(
                name) < joints.shape[1]:
            idx.append(names.index(name))
            conf.append(1.0)
        else:
            idx.append(0)
            conf.append(0.0)
    sel = joints[:, idx] * joints.new_tensor(conf)[None, :, None]
    return sel, joints.new_tensor(conf)


# ---------------------------------------------------------------------------
# The preprocessor
# ---------------------------------------------------------------------------
def _load_hmr_config(path: str) -> dict:
    from mmengine.config import Config
    cfg = Config.fromfile(path)
    if 'hmr' in cfg:
        return cfg.hmr.to_dict() if hasattr(cfg.hmr, 'to_dict') else dict(
            cfg.hmr)
    if 'model' in cfg and 'hmr' in cfg.model:
        return dict(cfg.model.hmr)
    if 'model' in cfg and str(cfg.model.get('type', '')).endswith('HMR'):
        return dict(cfg.model)
    raise ValueError(f'{path} has no `hmr` (or `model.hmr`) HMR config')


def _dump_pickle(path: str, obj: Any) -> None:
    with open(path, 'wb') as f:
        pickle.dump(obj, f, protocol=2)


class VideoPreprocessor:
    """Raw videos -> iPER-layout training data (see the module docstring).

    Args:
        out_root (str): the dataset folder (``images/``, ``smpls/``,
            ``masks/``, ``train.txt``...).
        body_model (str | dict | nn.Module): SMPL model path (``.pkl`` /
            ``.npz``; the ``.npz`` written by ``convert_hmr.py --smpl-out``
            also holds HMR's COCO-plus regressor), ``BODY_MODELS`` config or
            module.
        hmr (nn.Module | dict | str, optional): an ``HMR`` module, its config
            dict, or a config file holding ``hmr = dict(...)`` (or
            ``model.hmr``). Defaults to the release's HMR.
        hmr_checkpoint (str, optional): HMR weights (local path); overrides
            the config's. Without any, HMR is random (a warning says so).
        detector (BasePersonDetector | callable, optional): person boxes per
            frame (see :mod:`~mmlwgan.preprocessing.person_detector`).
            Defaults to :class:`WholeFrameDetector`.
        keypoint_estimator (KeypointEstimator, optional): 2D keypoints for
            ``kps.pkl``; without it, the fitted mesh's projected COCO-plus
            joints.
        segmenter (callable, optional): ``segmenter(frame, box) -> (H, W)``
            mask or None (e.g. :class:`PersonSegmenter`); without it (or when
            it returns None), the rendered mesh silhouette.
        size (int): side of the saved square frames. Defaults to 256.
        frame_mode (str): ``'auto'`` (the detector's suggestion: ``'pad'``
            for :class:`WholeFrameDetector`, else ``'person'``),
            ``'person'``, ``'center'`` or ``'pad'``, see
            :func:`square_region`.
        margin (float): ``'person'`` frames span ``margin`` times the union
            of the person's boxes. Defaults to 1.2.
        hmr_crop (str): ``'auto'`` (the detector's ``hmr_crop``), ``'diag'``
            (TF-HMR's scale: the box diagonal spans 150 of 224 pixels) or
            ``'box'`` (square on the box's longer side).
        mask_dilate (int, optional): box-kernel size dilating the rendered
            silhouette (odd); default ``size // 32`` rounded up to odd.
        max_gap (int): frames in a row without the person that are filled
            by interpolating the box. Defaults to 5.
        iou_thr (float): tracker IoU threshold. Defaults to 0.3.
        frame_step (int): keep every ``frame_step``-th frame. Defaults to 1.
        max_frames (int, optional): keep at most this many frames.
        batch_size (int): frames per HMR batch. Defaults to 16.
        device (str): Defaults to ``'cpu'``.
        img_ext (str): ``'.png'`` (default, lossless like the release's
            extraction) or ``'.jpg'``.
        overwrite (bool): redo finished videos. Defaults to False.
        progress (bool): show progress bars. Defaults to True.
    """

    def __init__(self,
                 out_root: str,
                 body_model: Union[str, dict, nn.Module],
                 hmr: Optional[Union[nn.Module, dict, str]] = None,
                 hmr_checkpoint: Optional[str] = None,
                 detector: Optional[BasePersonDetector] = None,
                 keypoint_estimator: Optional[Any] = None,
                 segmenter: Optional[Any] = None,
                 size: int = 256,
                 frame_mode: str = 'auto',
                 margin: float = 1.2,
                 hmr_crop: str = 'auto',
                 mask_dilate: Optional[int] = None,
                 max_gap: int = 5,
                 iou_thr: float = 0.3,
                 frame_step: int = 1,
                 max_frames: Optional[int] = None,
                 batch_size: int = 16,
                 device: str = 'cpu',
                 img_ext: str = '.png',
                 overwrite: bool = False,
                 progress: bool = True) -> None:
        if frame_mode not in ('auto', 'person', 'center', 'pad'):
            raise ValueError(f'unknown frame_mode {frame_mode!r}')
        if hmr_crop not in ('auto', 'diag', 'box'):
            raise ValueError(f'unknown hmr_crop {hmr_crop!r}')
        if img_ext.lower() not in ('.png', '.jpg', '.jpeg'):
            raise ValueError(f"img_ext should be '.png' or '.jpg', got "
                             f'{img_ext!r}')
        if size < 8:
            raise ValueError(f'size should be >= 8, got {size}')
        self.out_root = str(out_root)
        self.detector = detector if detector is not None else \
            WholeFrameDetector()
        self.keypoint_estimator = keypoint_estimator
        self.segmenter = segmenter
        self.size = int(size)
        self.frame_mode = frame_mode if frame_mode != 'auto' else getattr(
            self.detector, 'frame_mode', 'person')
        self.margin = float(margin)
        self.hmr_crop = hmr_crop if hmr_crop != 'auto' else getattr(
            self.detector, 'hmr_crop', 'diag')
        if mask_dilate is None:
            mask_dilate = max(1, -(-self.size // 32))
            mask_dilate += 1 - mask_dilate % 2
        if mask_dilate < 1 or mask_dilate % 2 == 0:
            raise ValueError(f'mask_dilate should be odd, got {mask_dilate}')
        self.mask_dilate = int(mask_dilate)
        self.tracker = PersonTracker(iou_thr=iou_thr, max_gap=max_gap)
        self.frame_step = int(frame_step)
        self.max_frames = max_frames
        self.batch_size = max(1, int(batch_size))
        self.device = torch.device(device)
        self.img_ext = img_ext.lower()
        self.overwrite = overwrite
        self.progress = progress
        self._build_models(body_model, hmr, hmr_checkpoint)

    # ------------------------------------------------------------ models
    def _build_models(self, body_model, hmr, hmr_checkpoint) -> None:
        from mmengine.registry import DefaultScope
        import mmlwgan.models  # noqa: F401  (registers HMR, SMPL, ...)
        from mmlwgan.models.body import SMPL
        from mmlwgan.models.renderers import MeshRasterizer
        from mmlwgan.registry import BODY_MODELS, MODELS
        with DefaultScope.overwrite_default_scope('mmlwgan'):
            if isinstance(body_model, str):
                body_model = SMPL(body_model)
            elif isinstance(body_model, dict):
                body_model = BODY_MODELS.build(body_model)
            if hasattr(hmr, 'hmr') and hasattr(hmr, 'body_model'):
                hmr = hmr.hmr  # an HMRPredictor: its network
            if hmr is None:
                hmr = dict(type='HMR')
            elif isinstance(hmr, str):
                hmr = _load_hmr_config(hmr)
            if hmr_checkpoint is not None and _is_url(str(hmr_checkpoint)):
                raise ValueError(
                    f'hmr_checkpoint {hmr_checkpoint} is a URL; nothing is '
                    'downloaded at run time: give a local path')
            if isinstance(hmr, dict):
                hmr = dict(hmr)
                hmr.setdefault('type', 'HMR')
                if hmr_checkpoint is not None:
                    hmr['pretrained'] = hmr_checkpoint
                    init_cfg = hmr.get('init_cfg')
                    if isinstance(init_cfg, dict) and init_cfg.get(
                            'type') == 'Pretrained':
                        hmr['init_cfg'] = None
                hmr = MODELS.build(hmr)
            elif hmr_checkpoint is not None:
                hmr.load_pretrained(hmr_checkpoint)
        if _is_url(str(getattr(hmr, 'checkpoint', None) or '')):
            raise ValueError(
                f'the HMR config names the weights {hmr.checkpoint} by URL; '
                'nothing is downloaded at run time: give a local path')
        hmr.eval()
        self.hmr = hmr.to(self.device)
        self.body_model = body_model.to(self.device).eval()
        self.rasterizer = MeshRasterizer(image_size=self.size)

    # ------------------------------------------------------------ paths
    def video_dirs(self, video_id: str) -> Dict[str, str]:
        """Final folders of a video: ``images``, ``masks``, ``smpls``."""
        return {
            kind: osp.join(self.out_root, kind, video_id)
            for kind in ('images', 'masks', 'smpls')
        }

    def is_done(self, video_id: str) -> bool:
        """Whether ``video_id`` was completely written already."""
        return is_video_done(self.out_root, check_video_id(video_id))

    # ------------------------------------------------------------ running
    def process_videos(self,
                       videos: Sequence[str],
                       video_ids: Optional[Sequence[Optional[str]]] = None,
                       on_error: str = 'raise') -> List[Dict[str, Any]]:
        """Process several videos (see :meth:`process`).

        Args:
            videos (Sequence[str]): video files / frame folders.
            video_ids (Sequence[str], optional): their ids; derived from the
                names by default (:func:`video_id_from_path`).
            on_error (str): ``'raise'`` or ``'skip'`` (a failed video is
                reported in the results with ``error`` and left out).

        Returns:
            list[dict]: one result per video.
        """
        if on_error not in ('raise', 'skip'):
            raise ValueError(f'on_error should be raise or skip: {on_error}')
        videos = list(videos)
        if video_ids is None:
            video_ids = [None] * len(videos)
        if len(video_ids) != len(videos):
            raise ValueError(f'{len(videos)} videos but {len(video_ids)} ids')
        ids = [
            check_video_id(v) if v else video_id_from_path(p)
            for p, v in zip(videos, video_ids)
        ]
        dup = {v for v in ids if ids.count(v) > 1}
        if dup:
            raise ValueError(f'several videos map to the id(s) {sorted(dup)};'
                             ' give distinct video ids')
        results = []
        for path, vid in zip(videos, ids):
            try:
                results.append(self.process(path, vid))
            except (VideoReadError, NoPersonError) as e:
                if on_error == 'raise':
                    raise
                results.append(dict(video=path, video_id=vid, error=str(e),
                                    skipped=False))
        return results

    def process(self, video: str,
                video_id: Optional[str] = None) -> Dict[str, Any]:
        """Preprocess one video into the iPER layout.

        Args:
            video (str): a video file or a folder of frames.
            video_id (str, optional): ``'actor/cloth/action'``; derived from
                the name by default.

        Returns:
            dict: ``video``, ``video_id``, ``num_frames``, ``skipped`` (True
            when it was already done) and the final folders.

        Raises:
            VideoReadError: missing, unreadable or empty video.
            NoPersonError: no person in a frame (``frame_index``), beyond
                what the tracker may fill.
        """
        vid = check_video_id(video_id) if video_id else video_id_from_path(
            video)
        dirs = self.video_dirs(vid)
        if not self.overwrite and is_video_done(self.out_root, vid):
            with open(osp.join(dirs['smpls'], 'meta.json'), 'r',
                      encoding='utf-8') as f:
                num = int(json.load(f)['num_frames'])
            return dict(video=video, video_id=vid, num_frames=num,
                        skipped=True, **dirs)
        # Fails early (nothing created) for a missing / unopenable video.
        source = FrameSource(video, self.frame_step, self.max_frames)
        created_root = not osp.isdir(self.out_root)
        tmp_parent = osp.join(self.out_root, '.tmp')
        prefix = vid.replace('/', '_') + '-'
        if osp.isdir(tmp_parent):  # left by an interrupted run
            for name in os.listdir(tmp_parent):
                if name.startswith(prefix):
                    shutil.rmtree(osp.join(tmp_parent, name),
                                  ignore_errors=True)
        os.makedirs(tmp_parent, exist_ok=True)
        tmp = tempfile.mkdtemp(prefix=prefix, dir=tmp_parent)
        try:
            num = self._process_into(source, video, vid, tmp)
            self._commit(tmp, dirs)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
            for folder in (tmp_parent, self.out_root if created_root else
                           None):
                try:
                    if folder:
                        os.rmdir(folder)  # only when empty
                except OSError:
                    pass  # other videos in progress / written
        return dict(video=video, video_id=vid, num_frames=num, skipped=False,
                    **dirs)

    def _commit(self, tmp: str, dirs: Dict[str, str]) -> None:
        # smpls last: its meta.json marks the video as done.
        smpl_dir = dirs['smpls']
        if osp.isdir(smpl_dir):  # a stale, unfinished or overwritten one
            shutil.rmtree(smpl_dir)
        for kind in ('images', 'masks', 'smpls'):
            final = dirs[kind]
            if osp.isdir(final):
                shutil.rmtree(final)
            os.makedirs(osp.dirname(final), exist_ok=True)
            os.replace(osp.join(tmp, kind), final)

    def _progress(self, iterable, **kwargs):
        if not self.progress:
            return iterable
        from tqdm import tqdm
        return tqdm(iterable, leave=False, dynamic_ncols=True, **kwargs)

    # ------------------------------------------------------------ stages
    def _detect(self, source: FrameSource,
                video: str) -> Tuple[List, Tuple[int, int]]:
        detections = []
        frame_size = None
        frames = self._progress(iter(source), desc=f'detect {video}',
                                total=source.estimated_count, unit='frame')
        for chunk in _chunks(frames, self.batch_size):
            if frame_size is None:
                frame_size = chunk[0].shape[:2]
            if hasattr(self.detector, 'detect_batch'):
                detections.extend(self.detector.detect_batch(chunk))
            else:
                detections.extend(self.detector(img) for img in chunk)
        return detections, frame_size

    def _process_into(self, source: FrameSource, video: str, vid: str,
                      tmp: str) -> int:
        detections, frame_size = self._detect(source, video)
        num = len(detections)
        try:
            boxes, box_scores = self.tracker.track(detections)
        except NoPersonError as e:
            raise NoPersonError(
                f'{video}: {e} (detector {type(self.detector).__name__}; '
                'a lower detector score threshold, a fixed person box or '
                'the whole frame as the box may help)',
                frame_index=e.frame_index, video=video) from None
        region = square_region(boxes, frame_size, self.frame_mode,
                               self.margin)
        scale, offset = region_transform(region, self.size)
        boxes_out = boxes * scale + np.array(offset * 2, np.float32)

        for kind in ('images', 'masks', 'smpls'):
            os.makedirs(osp.join(tmp, kind))
        names = [_FRAME_TMPL.format(i) for i in range(num)]
        cams, poses, shapes, kps, kps_scores = [], [], [], [], []
        frames = self._progress(iter(source), desc=f'hmr {video}',
                                total=num, unit='frame')
        t = 0
        for chunk in _chunks(frames, self.batch_size):
            if t + len(chunk) > num:
                raise VideoReadError(f'{video} gave more frames on the '
                                     'second reading than on the first')
            outs = [crop_square(f, region, self.size) for f in chunk]
            idx = list(range(t, t + len(chunk)))
            for i, img in zip(idx, outs):
                path = osp.join(tmp, 'images', names[i] + self.img_ext)
                if not cv2.imwrite(path, cv2.cvtColor(img,
                                                      cv2.COLOR_RGB2BGR)):
                    raise OSError(f'could not write {path}')
            res = self._estimate(outs, boxes_out[idx])
            cams.append(res['cams'])
            poses.append(res['pose'])
            shapes.append(res['shape'])
            kps.append(res['kps'])
            kps_scores.append(res['kps_scores'])
            for i, mask in zip(idx, res['masks']):
                path = osp.join(tmp, 'masks', names[i] + '.png')
                if not cv2.imwrite(path, mask):
                    raise OSError(f'could not write {path}')
            t += len(chunk)
        if t != num:
            raise VideoReadError(f'{video} gave {t} frames on the second '
                                 f'reading but {num} on the first')

        smpl_dir = osp.join(tmp, 'smpls')
        _dump_pickle(
            osp.join(smpl_dir, 'pose_shape.pkl'),
            dict(cams=np.concatenate(cams).astype(np.float32),
                 pose=np.concatenate(poses).astype(np.float32),
                 shape=np.concatenate(shapes).astype(np.float32)))
        _dump_pickle(
            osp.join(smpl_dir, 'kps.pkl'),
            dict(kps=np.concatenate(kps).astype(np.float32),
                 scores=np.concatenate(kps_scores).astype(np.float32)))
        meta = dict(
            video_id=vid,
            source=osp.abspath(video),
            num_frames=num,
            frame_names=[n + self.img_ext for n in names],
            size=self.size,
            orig_size=[int(frame_size[0]), int(frame_size[1])],
            frame_region=dict(x0=region[0], y0=region[1], side=region[2]),
            frame_mode=self.frame_mode,
            frame_step=self.frame_step,
            fps=(source.fps / self.frame_step) if source.fps else None,
            boxes=np.round(boxes_out, 3).tolist(),
            box_scores=np.round(box_scores, 4).tolist(),
            hmr_crop=self.hmr_crop,
            keypoints=('estimator' if self.keypoint_estimator is not None
                       else 'mesh'),
            masks=('segmenter' if self.segmenter is not None else
                   'silhouette'),
            created=time.strftime('%Y-%m-%d %H:%M:%S'))
        with open(osp.join(smpl_dir, 'meta.json'), 'w',
                  encoding='utf-8') as f:
            json.dump(meta, f, indent=1)
        return num

    @torch.no_grad()
    def _estimate(self, frames: List[np.ndarray],
                  boxes: np.ndarray) -> Dict[str, Any]:
        """HMR, keypoints and masks for output frames and their boxes."""
        from mmlwgan.models.body import crop_person
        from mmlwgan.models.body.cameras import (crop_cam_to_frame_cam,
                                                 weak_perspective_project)
        from mmlwgan.models.flows.masks import dilate
        from mmlwgan.models.renderers import silhouette
        size = self.size
        diag_len = None if self.hmr_crop == 'box' else 150.0
        crops, infos = [], []
        for img, box in zip(frames, boxes):
            img_t = torch.from_numpy(img).permute(2, 0, 1)[None].float()
            img_t = img_t / 127.5 - 1.0
            crop, info = crop_person(img_t, box, diag_len=diag_len)
            crops.append(crop)
            infos.append(info)
        inputs = torch.cat(crops).to(self.device)
        theta = self.hmr(inputs)[-1].float()
        num_betas = getattr(self.body_model, 'num_betas', 10)
        cam_crop = theta[:, :3]
        pose = theta[:, 3:75]
        shape = theta[:, 75:75 + num_betas]
        cam = torch.stack([
            crop_cam_to_frame_cam(c, info, (size, size))
            for c, info in zip(cam_crop, infos)
        ])
        out = self.body_model(pose, shape)
        verts_ndc = weak_perspective_project(out['vertices'], cam)

        # Keypoints: NDC of the output frame.
        if self.keypoint_estimator is not None:
            kps, scores = [], []
            for img, box in zip(frames, boxes):
                k, s = self.keypoint_estimator.predict_cocoplus(
                    img, box[None])
                ndc = (2.0 * k[0] + 1.0) / size - 1.0
                kps.append(ndc * (s[0] > 0)[:, None])  # missing joints at 0
                scores.append(s[0])
            kps, scores = np.stack(kps), np.stack(scores)
        else:
            joints, conf = cocoplus_from_body_output(
                out, getattr(self.body_model, 'joint_names', ()))
            kps = weak_perspective_project(joints, cam)[..., :2]
            kps = (kps * conf[None, :, None]).cpu().numpy()
            scores = conf[None].expand(len(frames), -1).cpu().numpy()

        # Masks: the segmenter's, else the dilated mesh silhouette.
        frags = self.rasterizer(verts_ndc, self.body_model.faces)
        sil = dilate(silhouette(frags), self.mask_dilate)[:, 0]
        masks = list((sil > 0.5).cpu().numpy())
        if self.segmenter is not None:
            for i, (img, box) in enumerate(zip(frames, boxes)):
                seg = self.segmenter(img, box)
                if seg is not None:
                    masks[i] = np.asarray(seg, bool).reshape(size, size)
        masks = [m.astype(np.uint8) * 255 for m in masks]
        return dict(
            cams=cam.cpu().numpy(),
            pose=pose.cpu().numpy(),
            shape=shape.cpu().numpy(),
            kps=kps.astype(np.float32),
            kps_scores=scores.astype(np.float32),
            masks=masks)
