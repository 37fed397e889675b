# Copyright (c) mmlwgan contributors. All rights reserved.
"""The bundled demo (``make demo``): motion imitation and a 360-degree novel
view sweep with the bundled model on bundled inputs, on CPU.

Bundled (all small, in ``demo/``):

- ``checkpoints/lwgan_lwb-tiny-v3_synthetic-64_fp16.pth``: a narrow LWB
  generator **trained on the project's synthetic data** (64 px), not a model
  of real people;
- ``data/source.png`` + ``data/source_smpl.pkl``: a held-out synthetic person
  (never seen in training) and its SMPL parameters;
- ``data/motion.pkl``: a dance as an iPER ``pose_shape.pkl`` SMPL sequence of
  another person.

The synthetic SMPL-format body the model was trained with is regenerated
(deterministically, once) into ``~/.cache/mmlwgan/synthetic_smpl``.

Writes ``outputs/demo/source-motion.mp4`` (the result),
``outputs/demo/source-motion_side_by_side.mp4`` (source | reference | result)
and ``outputs/demo/source-novel_view.mp4``.
"""
import argparse
import os.path as osp
import time

from mmlwgan.apis import MotionImitationInferencer, NovelViewInferencer
from mmlwgan.synthetic import get_synthetic_smpl_path

HERE = osp.dirname(osp.abspath(__file__))
ROOT = osp.dirname(HERE)
CONFIG = osp.join(ROOT, 'configs', 'lwgan',
                  'lwgan_lwb-tiny-v3_1xb4-4000i_synthetic-64.py')
CHECKPOINT = osp.join(HERE, 'checkpoints',
                      'lwgan_lwb-tiny-v3_synthetic-64_fp16.pth')


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--out-dir', default=osp.join(ROOT, 'outputs',
                                                      'demo'))
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--cache-dir', default=osp.expanduser(
        '~/.cache/mmlwgan/synthetic_smpl'))
    parser.add_argument('--no-progress', action='store_true')
    parser.add_argument(
        '--background', default='inpainted',
        help="'inpainted' (the source picture's own background, the person "
        "removed by cv2.inpaint in a 3 px band around the silhouette), "
        "'original' (the same, G_BG filling the 7 px hole it was trained on: "
        "no better than cv2.inpaint per pixel, and wider), 'generated' (G_BG; "
        "the bundled model keeps the known pixels, so as 'original') or an "
        'image path')
    args = parser.parse_args(argv)

    smpl = get_synthetic_smpl_path(args.cache_dir)
    cfg_options = {'model.body_model.model_path': smpl}
    t0 = time.perf_counter()
    imitator = MotionImitationInferencer(
        CONFIG, weights=CHECKPOINT, device=args.device,
        cfg_options=cfg_options, show_progress=not args.no_progress)
    out = imitator(
        osp.join(HERE, 'data', 'source.png'),
        osp.join(HERE, 'data', 'motion.pkl'),
        src_smpl=osp.join(HERE, 'data', 'source_smpl.pkl'),
        out_dir=args.out_dir, output_name='source-motion',
        cam_strategy='smooth', side_by_side=True, background=args.background)
    t1 = time.perf_counter()
    viewer = NovelViewInferencer(
        imitator.model, device=args.device,
        show_progress=not args.no_progress)
    view = viewer(
        osp.join(HERE, 'data', 'source.png'),
        src_smpl=osp.join(HERE, 'data', 'source_smpl.pkl'),
        out_dir=args.out_dir, output_name='source-novel_view', num_views=48,
        background=args.background)
    t2 = time.perf_counter()
    print(f"motion imitation: {out['video']} ({out['num_frames']} frames, "
          f'{out["num_frames"] / (t1 - t0):.1f} frames/s including start-up)')
    print(f"side by side:     {out['side_by_side']}")
    print(f"novel views:      {view['video']} ({view['num_frames']} views, "
          f'{t2 - t1:.1f}s)')


if __name__ == '__main__':
    main()
