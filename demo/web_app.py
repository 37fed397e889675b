# Copyright (c) mmlwgan contributors. All rights reserved.
"""A local web app for motion imitation, appearance transfer and novel view
(``make web``): a Gradio page served on http://127.0.0.1:7860.

By default it runs the bundled model of ``make demo`` (a tiny generator
trained on synthetic people) and offers the bundled inputs as examples;
``--config`` / ``--checkpoint`` (and ``--cfg-options``) run your own model.
Runs are queued one at a time. Results go to ``--out-dir`` (one folder per
run). Needs the ``web`` extra (``pip install -e .[web]``, which ``make web``
installs).

Examples:
    python demo/web_app.py
    python demo/web_app.py \
        --config configs/lwgan/lwgan_lwb_1xb4-30e_iper-256.py \
        --checkpoint work_dirs/lwgan.pth \
        --cfg-options model.body_model.model_path=data/smpl/SMPL_NEUTRAL.npz
"""
import argparse
import os
import os.path as osp
import sys

HERE = osp.dirname(osp.abspath(__file__))
ROOT = osp.dirname(HERE)


def parse_args(argv=None):
    from mmengine.config import DictAction
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--host', default='127.0.0.1',
                        help='address to bind (default: this machine only)')
    parser.add_argument('--port', type=int, default=7860)
    parser.add_argument('--config', default=None,
                        help='model config (default: the bundled demo model)')
    parser.add_argument('--checkpoint', default=None,
                        help='its checkpoint (default: the bundled one when '
                        'no --config is given)')
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        default=None, metavar='KEY=VALUE',
                        help='config overrides')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--out-dir', default=osp.join(ROOT, 'outputs', 'web'),
                        help='results, one folder per run')
    parser.add_argument('--cache-dir', default=osp.expanduser(
        '~/.cache/mmlwgan/synthetic_smpl'),
        help='where the synthetic body and examples are generated once')
    parser.add_argument('--max-queue', type=int, default=16,
                        help='runs that may wait in the queue')
    return parser.parse_args(argv)


def main(argv=None) -> int:
    args = parse_args(argv)
    # offline: no telemetry, no version check
    os.environ.setdefault('GRADIO_ANALYTICS_ENABLED', 'False')
    try:
        import gradio  # noqa: F401
    except ImportError:
        print('error: the web app needs gradio: `make web`, or '
              "`pip install -e '.[web]'`", file=sys.stderr)
        return 1
    from mmlwgan.apis.web import WebRunner
    from mmlwgan.apis.web.app import build_app, launch_kwargs
    from mmlwgan.utils.cli import run_main
    from mmlwgan.apis.web.examples import (DEMO_CHECKPOINT, DEMO_CONFIG,
                                           clothes_example, demo_cfg_options,
                                           demo_inputs)

    bundled = args.config is None
    cfg_options = dict(demo_cfg_options(args.cache_dir)) if bundled else {}
    cfg_options.update(args.cfg_options or {})
    runner = WebRunner(
        DEMO_CONFIG if bundled else args.config,
        DEMO_CHECKPOINT if bundled and args.checkpoint is None
        else args.checkpoint, device=args.device,
        cfg_options=cfg_options or None, out_root=args.out_dir)
    # a wrong config or checkpoint stops here, at once, in one line as the
    # other demos (MMLWGAN_DEBUG=1: the traceback)
    rc = run_main(runner.load)
    if rc is not None:
        return rc
    examples = demo_inputs() if bundled else None
    clothes = clothes_example(args.cache_dir) if bundled else None
    app = build_app(runner, examples, clothes, runner.part_names)
    app.queue(default_concurrency_limit=1, max_size=args.max_queue)
    print(f'mmlwgan web app on http://{args.host}:{args.port} '
          '(Ctrl+C stops it)', flush=True)
    app.launch(**launch_kwargs(runner, args.host, args.port))
    return 0


if __name__ == '__main__':
    sys.exit(main())
