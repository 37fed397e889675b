# Copyright (c) mmlwgan contributors. All rights reserved.
"""What the demo CLIs (``demo/*.py``) share: their arguments, the inferencer
they build, the call arguments, the examples shown by ``--help`` and the
top-level error handling (one ``error:`` line, exit 1)."""
from typing import Any, Callable, Dict

from mmlwgan.preprocessing.detector_builder import HOG_DETECTOR

__all__ = ['add_common_cli_args', 'cli_epilog', 'build_cli_inferencer',
           'common_call_kwargs', 'run_cli']


def add_common_cli_args(parser, with_ref: bool = True) -> None:
    """Arguments shared by the demo CLIs (``demo/*.py``)."""
    parser.add_argument('--config', required=True, help='model config file')
    parser.add_argument('--checkpoint', default=None,
                        help='model checkpoint (mmengine .pth)')
    parser.add_argument('--src', required=True,
                        help='source image, or a folder of source images '
                        '(front, back, ...)')
    parser.add_argument('--src-smpl', default=None,
                        help='SMPL of the source(s): .pkl / .npz (cams, '
                        'pose, shape) or .npy (S, 85); default: HMR')
    if with_ref:
        parser.add_argument('--ref', required=True,
                            help='reference video, image, folder of images '
                            'or SMPL sequence (.pkl / .npz / .npy)')
        parser.add_argument('--ref-smpl', default=None,
                            help='SMPL of the reference frames (one per '
                            'frame); default: HMR')
    parser.add_argument('--out-dir', default='outputs', help='output folder')
    parser.add_argument('--output-name', default=None,
                        help='base name of the outputs')
    parser.add_argument('--device', default=None,
                        help="'cpu', 'cuda', 'cuda:1' (default: cuda if "
                        'available)')
    parser.add_argument('--no-retain-memory', action='store_true',
                        help='on the CPU, let glibc return freed memory to '
                        'the system (by default it is kept for reuse: '
                        'faster, but the process keeps its peak memory)')
    parser.add_argument('--batch-size', type=int, default=8,
                        help='frames synthesized together')
    parser.add_argument('--background', default='generated',
                        help="'generated' (G_BG inpainting), 'original' "
                        "(the source background, G_BG inside the body's "
                        "region), 'inpainted' (the source background, that "
                        "region filled by cv2.inpaint) or an image path")
    parser.add_argument('--front-warp', action='store_true',
                        help='paste the directly warped face pixels')
    parser.add_argument('--side-by-side', action='store_true',
                        help='also write source | reference | result')
    parser.add_argument('--save-frames', action='store_true',
                        help='also write the frames as PNG files')
    parser.add_argument('--personalize-steps', type=int, default=0,
                        help='fine-tune the generator on the source first')
    parser.add_argument('--personalize-lr', type=float, default=None,
                        help='learning rate of the fine-tuning (2e-4)')
    parser.add_argument('--personalized-weights', default=None,
                        help='load personalised generator weights')
    parser.add_argument('--save-personalized', default=None,
                        help='save the personalised generator weights')
    parser.add_argument('--src-bbox', type=float, nargs=4, default=None,
                        metavar=('X1', 'Y1', 'X2', 'Y2'),
                        help='person box in the source image (HMR crop)')
    parser.add_argument('--detector', default=HOG_DETECTOR,
                        choices=(HOG_DETECTOR, 'none'),
                        help="person detector when no mmdet model is given: "
                        "'hog' (OpenCV's HOG people detector, nothing to "
                        'download; every source image must show an upright '
                        "person, also with --src-smpl) or 'none'")
    parser.add_argument('--detector-config', default=None,
                        help='mmdet config of a person detector (HMR crops '
                        "and the 'no person' check; the accurate option)")
    parser.add_argument('--detector-checkpoint', default=None,
                        help='its checkpoint')
    parser.add_argument('--det-score-thr', type=float, default=0.5,
                        help="detector score below which there is 'no "
                        "person'")
    parser.add_argument('--no-progress', action='store_true',
                        help='no progress bars')
    from mmengine.config import DictAction
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        default=None, metavar='KEY=VALUE',
                        help='config overrides, e.g. '
                        'model.hmr.pretrained=checkpoints/hmr.pth')
    from mmlwgan.utils.cli import add_debug_arg
    add_debug_arg(parser)


def cli_epilog(doc: str) -> str:
    """The ``Examples:`` section of a CLI module's docstring, for
    ``argparse``'s ``epilog`` (shown by ``--help``)."""
    if 'Examples:' not in doc:
        return ''
    body = doc.split('Examples:', 1)[1]
    lines = body.split('\n')
    out = ['examples:']
    for line in lines[1:]:
        if line and not line.startswith(' '):
            break  # the next paragraph
        out.append(line)
    return '\n'.join(out).rstrip() + '\n'


def build_cli_inferencer(cls, args, **kwargs):
    """Build an inferencer from :func:`add_common_cli_args` arguments (the
    output folder is checked first, so that an unusable one fails before
    the model is loaded)."""
    from mmlwgan.utils import check_output_dir
    if getattr(args, 'out_dir', None):
        check_output_dir(args.out_dir)
    cfg_options = args.cfg_options or None
    detector = getattr(args, 'detector', None)
    if detector == 'none':
        detector = None
    if args.detector_config or args.detector_checkpoint:
        detector = dict(config=args.detector_config,
                        checkpoint=args.detector_checkpoint)
    return cls(args.config, args.checkpoint, device=args.device,
               show_progress=not args.no_progress, cfg_options=cfg_options,
               detector=detector, det_score_thr=args.det_score_thr,
               retain_freed_memory=not args.no_retain_memory, **kwargs)


def common_call_kwargs(args) -> Dict[str, Any]:
    """The call arguments shared by the three tasks, from the CLI."""
    return dict(
        out_dir=args.out_dir, output_name=args.output_name,
        batch_size=args.batch_size, background=args.background,
        front_warp=args.front_warp, side_by_side=args.side_by_side,
        save_frames=args.save_frames, src_bbox=args.src_bbox,
        personalize_steps=args.personalize_steps,
        personalize_lr=args.personalize_lr,
        personalized_weights=args.personalized_weights,
        save_personalized=args.save_personalized)


def run_cli(fn: Callable[[], Dict[str, Any]], debug: bool = False) -> int:
    """Run a demo; print the output path(s), or one ``error:`` line on
    stderr (exit status 1; ``debug``: the full traceback instead, see
    :mod:`mmlwgan.utils.cli`)."""
    from mmlwgan.utils.cli import run_main
    result = run_main(fn, debug)
    if isinstance(result, int):
        return result
    for key in ('video', 'image', 'side_by_side', 'frames_dir'):
        if result.get(key):
            print(result[key])
    return 0
