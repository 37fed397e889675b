# Copyright (c) mmlwgan contributors. All rights reserved.
"""Slim a training checkpoint for inference: keep the generator only
(optionally in float16), drop optimizer states, the discriminator and the
message hub.

Example:
    python tools/model_converters/slim_checkpoint.py work_dirs/x/iter_1500.pth \
        demo/checkpoints/model_fp16.pth --fp16 --note "trained on synthetic data"
"""
import argparse
from collections import OrderedDict

import torch

from mmlwgan.models.converters import save_checkpoint_atomic
from mmlwgan.utils.checkpoint import load_checkpoint_tensors


def slim(state_dict: dict, fp16: bool = False,
         keep_prefixes=('generator.', )) -> 'OrderedDict[str, torch.Tensor]':
    """Keep the tensors under ``keep_prefixes``; floating ones optionally as
    float16 (they are cast back to the model's dtype when loaded)."""
    out = OrderedDict()
    for key, value in state_dict.items():
        if not key.startswith(tuple(keep_prefixes)):
            continue
        if fp16 and value.is_floating_point():
            value = value.half()
        out[key] = value
    if not out:
        raise ValueError(f'no tensor starts with {keep_prefixes}')
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('src')
    parser.add_argument('dst')
    parser.add_argument('--fp16', action='store_true')
    parser.add_argument('--note', default='', help='stored in meta.note')
    args = parser.parse_args(argv)
    ckpt = load_checkpoint_tensors(args.src)
    sd = ckpt.get('state_dict', ckpt)
    out = slim(sd, fp16=args.fp16)
    meta = dict(note=args.note, source=args.src, fp16=args.fp16)
    save_checkpoint_atomic(out, args.dst, meta=meta)
    n = sum(v.numel() for v in out.values())
    print(f'wrote {args.dst}: {len(out)} tensors, {n:,} values')


if __name__ == '__main__':
    main()
