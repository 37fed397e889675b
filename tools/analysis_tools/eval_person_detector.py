# Copyright (c) mmlwgan contributors. All rights reserved.
"""Measure the zero-download HOG person detector on generated pictures.

Persons: the bundled demo source, patterned synthetic bodies
(``mmlwgan.synthetic.batch``) and synthetic iPER frames
(``mmlwgan.synthetic.iper``) in several motions and sizes, some on
wide (4:3, 16:9) canvases. No person: the procedural textures of
``mmlwgan.synthetic.no_person`` (grass, meadow, leaves, noise...) and the
synthetic rooms without their actor, at 48-640 px.

Prints, for each SVM margin threshold, the share of persons found (per
kind) and the no-person pictures that get a box, and the time per picture.

Example:
    python tools/analysis_tools/eval_person_detector.py
    python tools/analysis_tools/eval_person_detector.py --min-height 0.4 \\
        --thresholds 0 0.3 0.6 --save-dir outputs/hog_eval
"""
import argparse
import collections
import os
import os.path as osp
import tempfile
import time
from typing import Dict, List, Tuple

import cv2
import numpy as np

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def person_images(smpl_path: str) -> Dict[str, np.ndarray]:
    """name -> (H, W, 3) uint8 RGB picture of one synthetic person."""
    import torch

    from mmlwgan.synthetic.motions import make_motion
    from mmlwgan.synthetic.batch import render_patterned_person
    from mmlwgan.synthetic.iper_render import (SyntheticIPERRenderer,
                                               fit_video_camera, video_motion)
    from mmlwgan.synthetic.iper_spec import (actor_params, make_cloth_spec,
                                             synthetic_background)
    from mmlwgan.visualization import BodyRenderer
    out = {}
    demo = cv2.imread(osp.join(ROOT, 'demo', 'data', 'source.png'))
    out['demo_source'] = demo[..., ::-1].copy()
    rng = np.random.default_rng(0)
    for size in (32, 48, 64, 96, 128, 160):
        renderer = BodyRenderer(dict(type='SMPL', model_path=smpl_path),
                                image_size=size)
        for motion in ('rest', 'walk', 'dance', 'wave', 'squat',
                       'turn_around'):
            poses = make_motion(motion, 30)
            for k in (3, 14, 25):
                betas = rng.normal(0, 0.8, (1, 10)).astype(np.float32)
                img, _ = render_patterned_person(
                    renderer, poses[k:k + 1], betas,
                    seed=int(rng.integers(10000)),
                    margin=float(rng.uniform(0.05, 0.35)))
                out[f'patterned-{motion}_{size}_{k}'] = img[0]
    for size in (64, 128, 200):
        sr = SyntheticIPERRenderer(smpl_path, size)
        for actor in range(1, 7):
            look = actor_params(size, actor)
            cloth = make_cloth_spec(size, actor, 1)
            for motion in ('walk', 'dance', 'wave', 'squat', 'turn_around'):
                pose = video_motion(motion, 30,
                                    np.random.default_rng([size, actor]))
                betas = np.repeat(
                    np.asarray(look['betas'], np.float32)[None], 30, 0)
                with torch.no_grad():
                    verts = sr.renderer.body_model(
                        torch.from_numpy(pose),
                        torch.from_numpy(betas))['vertices']
                cam = fit_video_camera(
                    verts, np.random.default_rng([size, actor, 1]))
                theta = np.concatenate(
                    [np.repeat(cam[None], 30, 0), pose, betas],
                    1).astype(np.float32)
                bg = synthetic_background(size, size * 10 + actor)
                frames, _ = sr.render(theta[[4, 16, 28]], look, cloth, bg)
                for k, frame in zip((4, 16, 28), frames):
                    out[f'iper-{motion}_{size}_{actor}_{k}'] = frame
    # wide canvases: the person somewhere in a 4:3 or 16:9 room
    for i, (name, img) in enumerate(list(out.items())[1::9]):
        h = img.shape[0]
        w = int(h * (16 / 9 if i % 2 else 4 / 3))
        room = (synthetic_background(w, 500 + i) * 255).astype(np.uint8)
        canvas = cv2.resize(room, (w, h))
        x0 = int(rng.uniform(0, w - h))
        canvas[:, x0:x0 + h] = img
        out[f'wide-{name.split("_")[0]}_{h}_{i}'] = canvas
    return out


def no_person_images() -> Dict[str, np.ndarray]:
    """name -> (H, W, 3) uint8 RGB picture without any person."""
    from mmlwgan.synthetic.no_person import NO_PERSON_KINDS, no_person_image
    from mmlwgan.synthetic.iper_spec import synthetic_background
    out = {}
    for size in (48, 64, 128, 256, 384, 640):
        for kind in NO_PERSON_KINDS:
            for seed in range(4):
                img = no_person_image(kind, size, seed)
                out[f'{kind}_{size}_{seed}'] = img[:480] if size == 640 \
                    else img
        for seed in range(5):
            room = (synthetic_background(size, seed) * 255).astype(np.uint8)
            out[f'room_{size}_{seed}'] = room
    return out


def best_margins(detector, images: Dict[str, np.ndarray]
                 ) -> Tuple[Dict[str, float], float]:
    """The best SVM margin of each picture (-inf: no window above -1.5)
    and the mean seconds per picture (one full search each)."""
    margins = {}
    t0 = time.perf_counter()
    for name, img in images.items():
        win = detector.windows(img, min_margin=-1.5)
        margins[name] = float(win[:, 4].max()) if len(win) else -np.inf
    return margins, (time.perf_counter() - t0) / max(len(images), 1)


def kind_of(name: str) -> str:
    kind = name.split('_')[0]
    return 'wide' if kind.startswith('wide') else kind


def report(pos: Dict[str, float], neg: Dict[str, float],
           thresholds: List[float]) -> None:
    kinds = sorted({kind_of(k) for k in pos})
    print(f'{len(pos)} pictures of a person, {len(neg)} without')
    print('threshold | found | ' + ' | '.join(kinds) +
          ' | no-person pictures with a box')
    for t in thresholds:
        by = collections.defaultdict(list)
        for k, m in pos.items():
            by[kind_of(k)].append(m >= t)
        found = np.mean([m >= t for m in pos.values()])
        fps = sorted(k for k, m in neg.items() if m >= t)
        print(f'{t:+.2f} | {found:.3f} | ' +
              ' | '.join(f'{np.mean(by[k]):.2f}' for k in kinds) +
              f' | {len(fps)} {fps[:5]}')


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0],
                                     epilog=__doc__.split('Example:')[1],
                                     formatter_class=argparse.
                                     RawDescriptionHelpFormatter)
    parser.add_argument('--min-height', type=float, default=0.5)
    parser.add_argument('--max-height', type=float, default=1.0)
    parser.add_argument('--scale-step', type=float, default=1.05)
    parser.add_argument('--pad', type=int, default=32)
    parser.add_argument('--win-stride', type=int, default=8)
    parser.add_argument('--thresholds', type=float, nargs='+',
                        default=[-0.2, 0.0, 0.2, 0.3, 0.4, 0.5, 0.7, 1.0])
    parser.add_argument('--save-dir', default=None,
                        help='also write the pictures (person/, '
                        'no_person/) there')
    return parser.parse_args(argv)


def main(argv=None) -> None:
    args = parse_args(argv)
    cv2.setNumThreads(1)
    from mmlwgan.preprocessing.hog_detector import HOGPersonDetector
    from mmlwgan.synthetic import get_synthetic_smpl_path
    det = HOGPersonDetector(min_height=args.min_height,
                            max_height=args.max_height,
                            scale_step=args.scale_step, pad=args.pad,
                            win_stride=args.win_stride)
    with tempfile.TemporaryDirectory() as tmp:
        smpl = get_synthetic_smpl_path(
            osp.expanduser('~/.cache/mmlwgan/synthetic_smpl')
            if os.access(osp.expanduser('~'), os.W_OK) else tmp)
        persons = person_images(smpl)
    others = no_person_images()
    if args.save_dir:
        for sub, images in (('person', persons), ('no_person', others)):
            os.makedirs(osp.join(args.save_dir, sub), exist_ok=True)
            for name, img in images.items():
                cv2.imwrite(osp.join(args.save_dir, sub, name + '.png'),
                            img[..., ::-1])
    pos, t_pos = best_margins(det, persons)
    neg, t_neg = best_margins(det, others)
    print(det)
    report(pos, neg, args.thresholds)
    print(f'{1000 * (t_pos + t_neg) / 2:.1f} ms per picture (one thread)')


if __name__ == '__main__':
    main()
