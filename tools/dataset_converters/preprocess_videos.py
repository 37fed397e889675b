# Copyright (c) mmlwgan contributors. All rights reserved.
"""Preprocess your own videos into iPER-format training data.

Each video (a video file or a folder of frames) of ONE person becomes
``images/<id>/``, ``masks/<id>/`` and ``smpls/<id>/{pose_shape,kps}.pkl``
under ``--out-root`` (``<id>`` = ``actor/cloth/action``; ``001_9_1.mp4``
gives ``001/9/1``, other names ``<name>/1/1``, or give ``--video-ids``), and
``train.txt`` / ``val.txt`` list the finished videos. Finished videos are
skipped on a rerun (``--overwrite`` redoes them). Nothing is downloaded:
give local checkpoint paths (without one a network is random, with a
warning).

Examples:
    # person-centred videos, no detector (the whole frame is the person box)
    python tools/dataset_converters/preprocess_videos.py \\
        --video-dir my_videos --out-root data/my_iper \\
        --smpl data/smpl/SMPL_NEUTRAL.npz \\
        --hmr-checkpoint checkpoints/hmr_tf2pt_mmlwgan.pth --whole-frame

    # with an RTMDet person detector and RTMPose keypoints
    python tools/dataset_converters/preprocess_videos.py \\
        --videos a.mp4 b.mp4 --out-root data/my_iper \\
        --smpl data/smpl/SMPL_NEUTRAL.npz \\
        --hmr-checkpoint checkpoints/hmr_tf2pt_mmlwgan.pth \\
        --det-config mmdet::rtmdet/rtmdet_tiny_8xb32-300e_coco.py \\
        --det-checkpoint checkpoints/rtmdet_tiny_8xb32-300e_coco.pth \\
        --pose-config mmpose::body_2d_keypoint/rtmpose/coco/\
rtmpose-s_8xb256-420e_coco-256x192.py \\
        --pose-checkpoint checkpoints/rtmpose-s_coco-256x192.pth

Then train with ``data_root='data/my_iper'`` in the dataset config.
"""
import argparse
import os
import os.path as osp
import sys
from typing import List, Optional


def parse_args(argv: Optional[List[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description='Videos of one person -> iPER-format training data',
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog=__doc__.split('Examples:')[1] if __doc__ else None)
    src = parser.add_mutually_exclusive_group(required=True)
    src.add_argument('--videos', nargs='+', metavar='PATH',
                     help='video files and/or frame folders')
    src.add_argument('--video-dir', metavar='DIR',
                     help='a folder of video files (and/or frame folders)')
    parser.add_argument('--video-ids', nargs='+', metavar='ID',
                        help='ids actor/cloth/action, one per video (default:'
                        ' from the names)')
    parser.add_argument('--out-root', default='data/my_iper')
    parser.add_argument('--smpl', required=True,
                        help='SMPL model (.pkl / .npz, or a folder)')
    parser.add_argument('--hmr-config', default=None,
                        help='config file with `hmr = dict(...)` (or '
                        '`model.hmr`), e.g. configs/_base_/models/hmr.py; '
                        "default: the release's HMR")
    parser.add_argument('--hmr-checkpoint', default=None,
                        help='HMR weights (tools/model_converters/'
                        'convert_hmr.py output, or the raw release file)')
    det = parser.add_mutually_exclusive_group()
    det.add_argument('--det-config', default=None,
                     help='mmdet detector config (a path, or mmdet::rel/path'
                     ' for one shipped with mmdet)')
    det.add_argument('--bbox', nargs=4, type=float, default=None,
                     metavar=('X1', 'Y1', 'X2', 'Y2'),
                     help='a fixed person box (pixels of the input frames)')
    det.add_argument('--hog', action='store_true',
                     help="OpenCV's HOG people detector (nothing to "
                     'download; for upright people filling half the frame '
                     'height or more; an mmdet detector is more accurate)')
    det.add_argument('--whole-frame', action='store_true',
                     help='the whole frame is the person box (default when '
                     'no detector is given)')
    parser.add_argument('--det-checkpoint', default=None)
    parser.add_argument('--det-score-thr', type=float, default=0.5)
    parser.add_argument('--det-input-size', type=int, default=None,
                        help="detector test size (default: the config's)")
    parser.add_argument('--pose-config', default=None,
                        help='mmpose top-down COCO-17 config (keypoints for '
                        'kps.pkl; default: projected mesh joints)')
    parser.add_argument('--pose-checkpoint', default=None)
    parser.add_argument('--seg-config', default=None,
                        help='mmdet instance-segmentation config for masks '
                        '(default: the dilated mesh silhouette)')
    parser.add_argument('--seg-checkpoint', default=None)
    parser.add_argument('--size', type=int, default=256,
                        help='side of the saved square frames')
    parser.add_argument('--frame-mode', default='auto',
                        choices=['auto', 'person', 'center', 'pad'])
    parser.add_argument('--margin', type=float, default=1.2)
    parser.add_argument('--hmr-crop', default='auto',
                        choices=['auto', 'diag', 'box'])
    parser.add_argument('--max-gap', type=int, default=5,
                        help='frames in a row without the person that are '
                        'filled by interpolation')
    parser.add_argument('--frame-step', type=int, default=1)
    parser.add_argument('--max-frames', type=int, default=None)
    parser.add_argument('--batch-size', type=int, default=16)
    parser.add_argument('--img-ext', default='.png', choices=['.png', '.jpg'])
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--split-train-ratio', type=float, default=0.8,
                        help='fraction of the videos listed in train.txt '
                        '(the rest in val.txt)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--overwrite', action='store_true')
    parser.add_argument('--skip-errors', action='store_true',
                        help='report unreadable videos / videos without a '
                        'person and go on with the others')
    parser.add_argument('--no-progress', action='store_true')
    return parser.parse_args(argv)


def collect_videos(args: argparse.Namespace) -> List[str]:
    from mmlwgan.datasets.video_io import is_video_file, list_frames
    if args.videos:
        return list(args.videos)
    root = args.video_dir
    if not osp.isdir(root):
        raise SystemExit(f'--video-dir {root} is not a folder')
    videos = []
    for name in sorted(os.listdir(root)):
        path = osp.join(root, name)
        if name.startswith('.'):
            continue
        if osp.isfile(path) and is_video_file(name):
            videos.append(path)
        elif osp.isdir(path) and list_frames(path):
            videos.append(path)
    if not videos:
        raise SystemExit(f'no video files or frame folders in {root}')
    return videos


def build_preprocessor(args: argparse.Namespace):
    from mmlwgan.preprocessing import (FixedBoxDetector, HOGPersonDetector,
                                       KeypointEstimator, PersonDetector,
                                       PersonSegmenter, VideoPreprocessor,
                                       WholeFrameDetector)
    if args.det_config:
        detector = PersonDetector(
            args.det_config, args.det_checkpoint, device=args.device,
            score_thr=args.det_score_thr, input_size=args.det_input_size)
    elif args.hog:
        detector = HOGPersonDetector(score_thr=args.det_score_thr)
    elif args.bbox:
        detector = FixedBoxDetector(args.bbox)
    else:
        detector = WholeFrameDetector()
    estimator = KeypointEstimator(
        args.pose_config, args.pose_checkpoint,
        device=args.device) if args.pose_config else None
    segmenter = PersonSegmenter(
        args.seg_config, args.seg_checkpoint, device=args.device,
        score_thr=args.det_score_thr,
        input_size=args.det_input_size) if args.seg_config else None
    return VideoPreprocessor(
        args.out_root,
        body_model=args.smpl,
        hmr=args.hmr_config,
        hmr_checkpoint=args.hmr_checkpoint,
        detector=detector,
        keypoint_estimator=estimator,
        segmenter=segmenter,
        size=args.size,
        frame_mode=args.frame_mode,
        margin=args.margin,
        hmr_crop=args.hmr_crop,
        max_gap=args.max_gap,
        frame_step=args.frame_step,
        max_frames=args.max_frames,
        batch_size=args.batch_size,
        device=args.device,
        img_ext=args.img_ext,
        overwrite=args.overwrite,
        progress=not args.no_progress)


def main(argv: Optional[List[str]] = None) -> int:
    args = parse_args(argv)
    from mmlwgan.preprocessing import (NoPersonError, VideoReadError,
                                       find_done_videos, write_splits)
    videos = collect_videos(args)
    if args.video_ids and len(args.video_ids) != len(videos):
        raise SystemExit(f'{len(videos)} videos but {len(args.video_ids)} '
                         '--video-ids')
    if args.det_checkpoint and not args.det_config:
        raise SystemExit('--det-checkpoint needs --det-config')
    if args.pose_checkpoint and not args.pose_config:
        raise SystemExit('--pose-checkpoint needs --pose-config')
    pre = build_preprocessor(args)
    try:
        results = pre.process_videos(
            videos, args.video_ids,
            on_error='skip' if args.skip_errors else 'raise')
    except (VideoReadError, NoPersonError) as e:
        print(f'error: {e}', file=sys.stderr)
        return 1
    failed = [r for r in results if 'error' in r]
    for r in results:
        if 'error' in r:
            state = f"FAILED: {r['error']}"
        elif r['skipped']:
            state = f"already done ({r['num_frames']} frames)"
        else:
            state = f"{r['num_frames']} frames"
        print(f"{r['video_id']:<24} {r['video']}: {state}")
    if find_done_videos(args.out_root):
        train, val = write_splits(
            args.out_root, train_ratio=args.split_train_ratio,
            seed=args.seed)
        print(f'{args.out_root}: {len(train)} train / {len(val)} val videos '
              '(train.txt, val.txt)')
    if failed:
        print(f'{len(failed)} video(s) failed', file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
