# Copyright (c) mmlwgan contributors. All rights reserved.
"""A synthetic dataset in the exact layout of iPER.

The real iPER cannot be shipped with tests or CI, so this module renders a
stand-in from the synthetic SMPL-format body (:mod:`.body`): several
actors (different ``betas``, skin and hair), each in several clothes
(patterned garments: stripes, checks, dots, colour blocks, chest prints, with
distinct fronts and backs), each performing several actions (procedural
motions with large pose changes; action 1 turns a full circle like iPER's
A-pose videos), in front of a textured background, seen by a fixed
weak-perspective camera per video. The SMPL parameters stored are exactly the
ones rendered, so a model trained on it sees perfect "HMR" estimates.

Real data is not like that; three options (all off by default, recorded in
``synthetic_iper.json``, see :mod:`.realism`) add real-world error:
``noise`` (the SMPL written to ``pose_shape.pkl`` is an HMR-like estimate
of the one rendered, which goes to ``pose_shape_rendered.pkl``), ``loose``
(hair, skirts and loose sleeves off the SMPL surface) and ``shading``
(Lambertian shading from a fixed light on the posed normals). With them off
the output is the same, byte for byte, as without these options.

Written under ``out_dir`` (the layout :class:`mmlwgan.datasets.IPERDataset`
reads)::

    images/<actor>/<cloth>/<action>/000.jpg ...   frames (RGB)
    smpls/<actor>/<cloth>/<action>/pose_shape.pkl {'cams': (N, 3), 'pose':
                                                   (N, 72), 'shape': (N, 10)}
                                                   float32, pickle protocol 2
    smpls/<actor>/<cloth>/<action>/kps.pkl        {'kps': (N, 19, 2)} float32,
                                                   COCO-plus keypoints in NDC
    smpls/<actor>/<cloth>/<action>/pose_shape_rendered.pkl
                                                  with ``noise``: the SMPL
                                                   rendered (pose_shape.pkl
                                                   is then an estimate)
    train.txt, val.txt                            video ids (val: held-out
                                                   actors)
    iPER_protocol.json                            evaluation protocol, the
                                                   release's format
    smpl_model.npz                                the body model to render
                                                   with (``SMPL`` model_path)
    synthetic_iper.json                           generator parameters and
                                                   per-video record
    iPER_256_video_release/<a>_<c>_<act>.mp4       with ``write_mp4=True``

Ids follow iPER: actors ``001``, ``002``...; clothes and actions ``1``,
``2``... Every video is written atomically (frames and pickles go to hidden
temporary folders that are renamed into place, ``smpls/<id>`` last), so an
interrupted run leaves no half-written video and a rerun skips the finished
ones. The output is a deterministic function of the arguments.

This module writes the iPER folder layout (ids, splits, protocol, atomic
writing: :func:`make_synthetic_iper`); what a video is made of (actors,
clothes, backgrounds, seed streams) is in :mod:`.iper_spec`, the motion,
camera and rendering in :mod:`.iper_render` (their public names are also
importable from here).
"""
import json
import os
import os.path as osp
import pickle
import shutil
import tempfile
from typing import Any, Callable, Dict, List, Optional, Sequence, Tuple, Union

import cv2
import numpy as np
import torch

from mmlwgan.utils.io import AtomicVideoWriter, atomic_path
from . import loose_garments as LG
from . import motions as M
from . import realism as R
from .batch import synthetic_theta
from .body_files import save_synthetic_smpl
# the spec and the renderer, also importable from here (the web app's
# examples and the tools do)
from .iper_render import (SyntheticIPERRenderer, fit_video_camera,
                          video_motion, view_angles)
from .iper_spec import (_CAM, _MOTION, _SPLIT, _parse_id, _rng,
                        actor_params, make_cloth_spec, synthetic_background,
                        video_background)

#: Motions of actions 1, 2, ... (cycled). Action 1 turns a full circle with
#: the arms lowered, like iPER's A-pose videos; action 2 is a mix of moves,
#: like iPER's random-action videos.
SYNTHETIC_MOTIONS = ('turn_around', 'dance', 'wave', 'squat', 'walk')
SMPL_FILENAME = 'smpl_model.npz'
PROTOCOL_FILENAME = 'iPER_protocol.json'
META_FILENAME = 'synthetic_iper.json'
#: With annotation noise: the SMPL the frames were rendered with, beside the
#: (noisy) ``pose_shape.pkl``.
RENDERED_SMPL_FILENAME = 'pose_shape_rendered.pkl'
VIDEO_RELEASE_DIR = 'iPER_256_video_release'
#: Number of view angles / source frames of a protocol entry.
NUM_PROTOCOL_SOURCES = 8


def make_video_id(actor: int, cloth: int, action: int) -> str:
    """``(1, 2, 1)`` -> ``'001/2/1'`` (iPER's naming)."""
    return f'{actor:03d}/{cloth}/{action}'


def frame_name(index: int, num_frames: int, ext: str = 'jpg') -> str:
    """``000.jpg``-style names, zero-padded to at least 3 digits (the
    release's ``images_HD`` frames as named by its protocol file)."""
    width = max(3, len(str(max(num_frames - 1, 0))))
    return f'{index:0{width}d}.{ext}'


# ---------------------------------------------------------------------------
# Splits and protocol
# ---------------------------------------------------------------------------
def split_videos(video_ids: Sequence[str], num_actors: int,
                 val_actors: Optional[int] = None
                 ) -> Tuple[List[str], List[str]]:
    """Train / val video ids: the last ``val_actors`` actors are held out
    (default: a third of them, at least one); with one actor its last video
    is held out."""
    if num_actors <= 1:
        return list(video_ids[:-1]) or list(video_ids), list(video_ids[-1:])
    if val_actors is None:
        val_actors = max(1, int(round(num_actors / 3)))
    if not 1 <= val_actors < num_actors:
        raise ValueError(f'val_actors must be in [1, {num_actors - 1}], got '
                         f'{val_actors}')
    first_val = num_actors - val_actors + 1
    train = [v for v in video_ids if _parse_id(v)[0] < first_val]
    val = [v for v in video_ids if _parse_id(v)[0] >= first_val]
    return train, val


def _source_frames(pose: np.ndarray) -> np.ndarray:
    """Indices of 8 source frames: the frames nearest to view angles
    0, 45, ..., 315 degrees for a turning video, else evenly spaced."""
    n = len(pose)
    yaw = view_angles(pose)
    unwrapped = np.rad2deg(np.unwrap(np.deg2rad(yaw)))
    if np.ptp(unwrapped) >= 300:
        targets = np.arange(NUM_PROTOCOL_SOURCES) * (
            360.0 / NUM_PROTOCOL_SOURCES)
        if unwrapped[-1] < unwrapped[0]:  # turning the other way
            targets = np.mod(-targets, 360.0)
        d = np.abs((yaw[None] - targets[:, None] + 180.0) % 360.0 - 180.0)
        return d.argmin(1)
    return np.linspace(0, n - 1, NUM_PROTOCOL_SOURCES).round().astype(int)


def make_protocol(videos: Dict[str, Dict[str, Any]], val: Sequence[str],
                  train: Sequence[str], seed: int) -> Dict[str, Any]:
    """The evaluation protocol in the release's ``iPER_protocol.json`` format
    (``{"val": {video_id: entry}}``, see
    :func:`mmlwgan.datasets.load_protocol`)."""
    rng = _rng(seed, _SPLIT)
    entries = {}
    for vid in val:
        info = videos[vid]
        n = info['num_frames']
        names = info['frame_names']
        src = [int(i) for i in info['source_frames']]
        angles = [int(round(a)) % 360 for a in info['view_angles']]
        actor, _, action = _parse_id(vid)
        others = [v for v in list(val) + list(train)
                  if _parse_id(v)[0] != actor] or [v for v in val if v != vid
                                                   ] or [vid]
        preferred = [v for v in others if _parse_id(v)[2] != action] or others
        target = preferred[int(rng.integers(len(preferred)))]
        n_t = videos[target]['num_frames']
        length = max(1, min(n, n_t) // 2)
        start_t, start_s = (n_t - length) // 2, (n - length) // 2
        entries[vid] = {
            'source': [names[i] for i in src],
            'view angle': angles,
            's_n': {
                '1': [names[src[0]]],
                '2': [names[src[i]] for i in (0, 4)],
                '3': [names[src[i]] for i in (0, 2, 4)],
                '4': [names[src[i]] for i in (0, 2, 4, 6)],
                '8': [names[i] for i in src],
            },
            'mask': [],
            'novel view': False,
            'self_imitation': {'target': vid, 'range': [0, n - 1]},
            'cross_imitation': {'target': target,
                                'range': [start_t, start_t + length - 1]},
            'flag': [start_s, start_s + length - 1],
        }
    return {'val': entries}


# ---------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------
def _dump_pickle(path: str, obj: Any) -> None:
    with open(path, 'wb') as f:
        pickle.dump(obj, f, protocol=2)


def _write_json(path: str, obj: Any) -> None:
    with atomic_path(path) as tmp:
        with open(tmp, 'w', encoding='utf-8') as f:
            json.dump(obj, f, indent=2)
            f.write('\n')


def _write_lines(path: str, lines: Sequence[str]) -> None:
    with atomic_path(path) as tmp:
        with open(tmp, 'w', encoding='utf-8') as f:
            f.write(''.join(line + '\n' for line in lines))


def _video_done(out_dir: str, vid: str, num_frames: int,
                write_mp4: bool) -> bool:
    smpl_dir = osp.join(out_dir, 'smpls', vid)
    img_dir = osp.join(out_dir, 'images', vid)
    if not (osp.isfile(osp.join(smpl_dir, 'pose_shape.pkl'))
            and osp.isfile(osp.join(smpl_dir, 'kps.pkl'))
            and osp.isdir(img_dir)):
        return False
    if len([n for n in os.listdir(img_dir)
            if not n.startswith('.')]) != num_frames:
        return False
    if write_mp4 and not osp.isfile(
            osp.join(out_dir, VIDEO_RELEASE_DIR,
                     vid.replace('/', '_') + '.mp4')):
        return False
    return True


def _remove_stale_tmp(folder: str) -> None:
    if osp.isdir(folder):
        for name in os.listdir(folder):
            if name.startswith('.tmp-'):
                shutil.rmtree(osp.join(folder, name), ignore_errors=True)


def _pose_shape(theta: np.ndarray) -> Dict[str, np.ndarray]:
    return dict(cams=np.ascontiguousarray(theta[:, :3]),
                pose=np.ascontiguousarray(theta[:, 3:75]),
                shape=np.ascontiguousarray(theta[:, 75:]))


def _write_video(out_dir: str, vid: str, frames: np.ndarray, kps: np.ndarray,
                 theta: np.ndarray, frame_ext: str, jpg_quality: int,
                 write_mp4: bool,
                 extra_pickles: Optional[Dict[str, Any]] = None) -> None:
    """Write one video atomically: frames and pickles into hidden temporary
    folders, renamed into place (``smpls/<vid>`` last, the "done" mark).
    ``extra_pickles`` (file name -> object) go to ``smpls/<vid>`` too."""
    img_final = osp.join(out_dir, 'images', vid)
    smpl_final = osp.join(out_dir, 'smpls', vid)
    action = vid.split('/')[-1]
    tmps = []
    try:
        for final in (img_final, smpl_final):
            parent = osp.dirname(final)
            os.makedirs(parent, exist_ok=True)
            _remove_stale_tmp(parent)
            tmps.append(tempfile.mkdtemp(prefix=f'.tmp-{action}-',
                                         dir=parent))
        tmp_img, tmp_smpl = tmps
        n = len(frames)
        params = []
        if frame_ext in ('jpg', 'jpeg'):
            params = [cv2.IMWRITE_JPEG_QUALITY, int(jpg_quality)]
            if hasattr(cv2, 'IMWRITE_JPEG_SAMPLING_FACTOR'):
                # no chroma subsampling: crisp colour edges at small sizes
                params += [cv2.IMWRITE_JPEG_SAMPLING_FACTOR,
                           cv2.IMWRITE_JPEG_SAMPLING_FACTOR_444]
        for i, frame in enumerate(frames):
            path = osp.join(tmp_img, frame_name(i, n, frame_ext))
            if not cv2.imwrite(path, cv2.cvtColor(frame, cv2.COLOR_RGB2BGR),
                               params):
                raise OSError(f'could not write frame {path}')
        _dump_pickle(osp.join(tmp_smpl, 'pose_shape.pkl'), _pose_shape(theta))
        _dump_pickle(osp.join(tmp_smpl, 'kps.pkl'), dict(kps=kps))
        for name, obj in (extra_pickles or {}).items():
            _dump_pickle(osp.join(tmp_smpl, name), obj)
        if write_mp4:
            mp4 = osp.join(out_dir, VIDEO_RELEASE_DIR,
                           vid.replace('/', '_') + '.mp4')
            with AtomicVideoWriter(mp4, fps=30.0) as writer:
                for frame in frames:
                    writer.write(frame)
        for tmp, final in ((tmp_img, img_final), (tmp_smpl, smpl_final)):
            if osp.exists(final):  # left over by an interrupted run
                shutil.rmtree(final)
            os.rename(tmp, final)
    finally:
        for tmp in tmps:
            if osp.exists(tmp):
                shutil.rmtree(tmp, ignore_errors=True)


def make_synthetic_iper(out_dir: str,
                        num_actors: int = 3,
                        num_clothes: int = 2,
                        num_actions: int = 2,
                        num_frames: int = 30,
                        image_size: int = 128,
                        seed: int = 0,
                        val_actors: Optional[int] = None,
                        motions: Sequence[str] = SYNTHETIC_MOTIONS,
                        frame_ext: str = 'jpg',
                        jpg_quality: int = 95,
                        write_mp4: bool = False,
                        smpl_seed: int = 0,
                        batch_size: int = 32,
                        progress: bool = False,
                        callback: Optional[Callable[[str, bool], None]] = None,
                        noise: Union[None, str, Dict[str, Any]] = None,
                        loose: Union[None, str, Sequence[str],
                                     Dict[str, float]] = None,
                        shading: Union[None, str, Dict[str, Any]] = None
                        ) -> Dict[str, Any]:
    """Write a synthetic dataset in iPER's layout (see the module docstring).

    Args:
        out_dir (str): output folder (created).
        num_actors (int): actors ``001``... Defaults to 3.
        num_clothes (int): outfits per actor. Defaults to 2.
        num_actions (int): videos per outfit; action ``k`` performs
            ``motions[(k - 1) % len(motions)]``. Defaults to 2.
        num_frames (int): frames per video. Defaults to 30.
        image_size (int): frame side in pixels. Defaults to 128.
        seed (int): seed of everything random; the output is a deterministic
            function of the arguments.
        val_actors (int, optional): actors held out for ``val.txt`` (the
            last ones); default a third of them (at least one).
        motions (Sequence[str]): motion names of
            :data:`mmlwgan.synthetic.motions.MOTIONS`.
        frame_ext (str): ``'jpg'`` (default, like ``images_HD``) or
            ``'png'`` (lossless).
        jpg_quality (int): JPEG quality. Defaults to 95.
        write_mp4 (bool): also write every video as
            ``iPER_256_video_release/<actor>_<cloth>_<action>.mp4``.
        smpl_seed (int): seed of the synthetic body written to
            ``smpl_model.npz``.
        batch_size (int): frames rendered at once.
        progress (bool): show a tqdm progress bar.
        callback (callable, optional): called ``callback(video_id,
            rendered)`` after each video (``rendered`` False when skipped).
        noise (str | dict, optional): annotation noise
            (:func:`mmlwgan.synthetic.realism.noise_config`): ``'hmr'`` or a
            dict of magnitudes (and ``seed``, default ``seed``). The frames
            are rendered with the true SMPL, ``pose_shape.pkl`` holds the
            noisy one and ``pose_shape_rendered.pkl`` the true one.
        loose (str | list | dict, optional): geometry off the SMPL surface
            (:func:`mmlwgan.synthetic.realism.loose_config`): ``'all'`` or
            some of ``'hair'``, ``'skirt'``, ``'sleeves'``.
        shading (str | dict, optional): ``'lambert'``: shading from a fixed
            light on the posed normals (:func:`mmlwgan.synthetic.realism.
            shading_config`); default flat, light at the camera.

    Returns:
        dict: ``out_dir``, ``smpl_path``, ``protocol_path``, ``train`` /
        ``val`` video ids, ``rendered`` / ``skipped`` video ids,
        ``annotation_error`` (video id -> :func:`mmlwgan.synthetic.realism.
        annotation_error`, with ``noise``).

    Raises:
        ValueError: bad arguments, or ``out_dir`` holds a synthetic iPER
            made with other arguments.
    """
    for name, value in (('num_actors', num_actors), ('num_clothes',
                                                     num_clothes),
                        ('num_actions', num_actions), ('num_frames',
                                                       num_frames)):
        if int(value) < 1:
            raise ValueError(f'{name} must be >= 1, got {value}')
    if image_size < 16:
        raise ValueError(f'image_size must be >= 16, got {image_size}')
    if frame_ext not in ('jpg', 'png'):
        raise ValueError(f"frame_ext should be 'jpg' or 'png', got "
                         f'{frame_ext!r}')
    motions = list(motions)
    for m in motions:
        if m not in M.MOTIONS:
            raise ValueError(f'unknown motion {m!r}; choose from '
                             f'{sorted(M.MOTIONS)}')
    params = dict(
        num_actors=int(num_actors), num_clothes=int(num_clothes),
        num_actions=int(num_actions), num_frames=int(num_frames),
        image_size=int(image_size), seed=int(seed), val_actors=val_actors,
        motions=motions, frame_ext=frame_ext, jpg_quality=int(jpg_quality),
        smpl_seed=int(smpl_seed))
    # real-world error: recorded only when on (plain data keeps its metadata)
    realism = dict(noise=R.noise_config(noise, seed),
                   loose=R.loose_config(loose),
                   shading=R.shading_config(shading))
    params.update({k: v for k, v in realism.items() if v is not None})
    noise_cfg, loose_cfg, shading_cfg = (realism['noise'], realism['loose'],
                                         realism['shading'])
    os.makedirs(out_dir, exist_ok=True)
    meta_path = osp.join(out_dir, META_FILENAME)
    if osp.isfile(meta_path):
        with open(meta_path, 'r', encoding='utf-8') as f:
            old = json.load(f).get('params')
        if old != params:
            raise ValueError(
                f'{out_dir} holds a synthetic iPER made with other parameters '
                f'({meta_path}: {old}); use another folder or delete it')
    else:
        _write_json(meta_path, dict(params=params, videos={}))

    smpl_path = osp.join(out_dir, SMPL_FILENAME)
    if not osp.isfile(smpl_path):
        save_synthetic_smpl(smpl_path, fmt='npz', seed=int(smpl_seed))
    renderer = SyntheticIPERRenderer(smpl_path, image_size, batch_size)
    num_betas = renderer.renderer.body_model.num_betas

    ids = [
        make_video_id(a, c, k) for a in range(1, num_actors + 1)
        for c in range(1, num_clothes + 1) for k in range(1, num_actions + 1)
    ]
    train, val = split_videos(ids, num_actors, val_actors)
    record: Dict[str, Dict[str, Any]] = {}
    rendered, skipped = [], []
    iterator = ids
    if progress:
        from tqdm import tqdm
        iterator = tqdm(ids, desc='synthetic iPER', unit='video')
    for vid in iterator:
        a, c, k = _parse_id(vid)
        actor = actor_params(seed, a, num_betas)
        cloth = make_cloth_spec(seed, a, c)
        motion = motions[(k - 1) % len(motions)]
        pose = video_motion(motion, num_frames, _rng(seed, _MOTION, a, c, k))
        src = _source_frames(pose)
        record[vid] = dict(
            motion=motion,
            split='val' if vid in val else 'train',
            num_frames=int(num_frames),
            frame_names=[frame_name(i, num_frames, frame_ext)
                         for i in range(num_frames)],
            source_frames=[int(i) for i in src],
            view_angles=[float(x) for x in view_angles(pose)[src]],
            actor=actor,
            cloth=cloth)
        spec = LG.loose_spec(seed, a, c, actor, cloth, loose_cfg)
        if spec is not None:
            record[vid]['loose'] = spec
        if _video_done(out_dir, vid, num_frames, write_mp4):
            skipped.append(vid)
            if callback is not None:
                callback(vid, False)
            continue
        betas = torch.tensor(actor['betas'], dtype=torch.float32)[None]
        pose_t = torch.from_numpy(pose)
        with torch.no_grad():
            verts = renderer.renderer.posed_vertices(
                pose_t, betas.expand(len(pose_t), -1))
        cam = fit_video_camera(verts, _rng(seed, _CAM, a, c, k))
        theta = synthetic_theta(
            renderer.renderer, pose_t, betas.expand(len(pose_t), -1),
            cam=torch.from_numpy(cam)[None].expand(len(pose_t), -1))
        theta = np.ascontiguousarray(theta.numpy(), dtype=np.float32)
        written, extra = theta, None
        if noise_cfg is not None:  # render the true SMPL, write an estimate
            written = R.add_annotation_noise(
                theta, noise_cfg, R.noise_rng(noise_cfg['seed'], a, c, k))
            extra = {RENDERED_SMPL_FILENAME: _pose_shape(theta)}
        mesh = LG.build_loose_mesh(renderer.renderer.body_model,
                                   renderer.dresser, betas, spec, actor,
                                   cloth)
        frames, kps = renderer.render(theta, actor, cloth,
                                      video_background(seed, vid,
                                                       image_size),
                                      loose=mesh, shading=shading_cfg)
        _write_video(out_dir, vid, frames, kps, written, frame_ext,
                     jpg_quality, write_mp4, extra)
        rendered.append(vid)
        if callback is not None:
            callback(vid, True)

    errors = {}
    if noise_cfg is not None:  # measured on what is on disk (resumed too)
        from mmlwgan.datasets.iper_dataset import load_pose_shape
        for vid in ids:
            folder = osp.join(out_dir, 'smpls', vid)
            errors[vid] = R.annotation_error(
                renderer.renderer.body_model,
                load_pose_shape(osp.join(folder, RENDERED_SMPL_FILENAME)),
                load_pose_shape(osp.join(folder, 'pose_shape.pkl')))
            record[vid]['annotation_error'] = errors[vid]

    _write_lines(osp.join(out_dir, 'train.txt'), train)
    _write_lines(osp.join(out_dir, 'val.txt'), val)
    protocol_path = osp.join(out_dir, PROTOCOL_FILENAME)
    _write_json(protocol_path, make_protocol(record, val, train, seed))
    layout = dict(images='images/<actor>/<cloth>/<action>/'
                  + frame_name(0, num_frames, frame_ext),
                  smpls='smpls/<actor>/<cloth>/<action>/'
                  '{pose_shape,kps}.pkl')
    meta = dict(params=params, smpl_model=SMPL_FILENAME, layout=layout)
    if noise_cfg is not None:
        layout['rendered_smpls'] = ('smpls/<actor>/<cloth>/<action>/' +
                                    RENDERED_SMPL_FILENAME)
        keys = ('pose_rms_deg', 'root_rms_deg', 'mpjpe_mm', 'pa_mpjpe_mm',
                'accel_mm', 'shape_rms', 'cam_scale_rms_pct',
                'cam_shift_rms_px_per_256')
        meta['annotation_error'] = dict(
            mean={k: float(np.mean([e[k] for e in errors.values()]))
                  for k in keys},
            note='pose_shape.pkl (written) vs pose_shape_rendered.pkl (the '
            'SMPL the frames were rendered with); kps.pkl is the rendered '
            "body's; joint errors over HMR's 14 LSP joints, mm")
    if any(v is not None for v in realism.values()):
        meta['realism'] = dict(
            module='mmlwgan.synthetic.realism',
            noise_stream=R.NOISE_STREAM, loose_stream=R.LOOSE_STREAM)
    meta['videos'] = {
        v: {k: r[k] for k in ('motion', 'split', 'actor', 'cloth', 'loose',
                              'annotation_error') if k in r}
        for v, r in record.items()
    }
    _write_json(meta_path, meta)
    return dict(out_dir=out_dir, smpl_path=smpl_path,
                protocol_path=protocol_path, train=train, val=val,
                rendered=rendered, skipped=skipped,
                annotation_error=errors)


__all__ = [
    'make_synthetic_iper', 'SyntheticIPERRenderer', 'synthetic_background',
    'video_background', 'video_motion', 'view_angles', 'fit_video_camera',
    'make_cloth_spec', 'actor_params', 'make_protocol', 'split_videos',
    'make_video_id', 'frame_name', 'SYNTHETIC_MOTIONS', 'SMPL_FILENAME',
    'PROTOCOL_FILENAME', 'META_FILENAME', 'VIDEO_RELEASE_DIR',
    'RENDERED_SMPL_FILENAME'
]
