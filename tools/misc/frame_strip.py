# Copyright (c) mmlwgan contributors. All rights reserved.
"""Evenly spaced frames of a video side by side in one PNG (a "strip").

Example (``make demo``'s side-by-side output: source | reference | result)::

    python tools/misc/frame_strip.py \\
        outputs/demo/source-motion_side_by_side.mp4 --frames 8 --cols 2 \\
        --scale 2 --out docs/demo_strip.png
"""
import argparse
import os
import os.path as osp
from typing import List, Optional, Sequence

import cv2
import numpy as np


def parse_args(argv: Optional[Sequence[str]] = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split('\n')[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog='example:' + __doc__.split('::', 1)[1])
    parser.add_argument('video', help='input video (anything OpenCV reads)')
    parser.add_argument('--out', required=True, help='output PNG')
    parser.add_argument('--frames', type=int, default=8,
                        help='number of frames (default: %(default)s)')
    parser.add_argument('--cols', type=int, default=0,
                        help='frames per row (default: all in one row)')
    parser.add_argument('--scale', type=float, default=1.0,
                        help='resize factor, nearest neighbour for integers '
                        '(default: %(default)s)')
    parser.add_argument('--no-labels', action='store_true',
                        help='do not print the frame numbers')
    args = parser.parse_args(argv)
    if args.frames < 1 or args.cols < 0 or args.scale <= 0:
        parser.error('--frames must be >= 1, --cols >= 0, --scale > 0')
    return args


def read_frames(path: str) -> List[np.ndarray]:
    """All frames of a video, BGR uint8."""
    from mmlwgan.datasets.video_io import iter_video_frames
    if not osp.isfile(path):
        raise FileNotFoundError(f'no video {path}')
    frames = list(iter_video_frames(path, rgb=False))
    if not frames:
        raise ValueError(f'{path}: no frame could be decoded')
    return frames


def frame_strip(frames: Sequence[np.ndarray], count: int, cols: int = 0,
                scale: float = 1.0, labels: bool = True,
                gap: int = 2) -> np.ndarray:
    """``count`` evenly spaced frames (first and last included) in a grid of
    ``cols`` per row (0: one row), white gaps, frame numbers in a corner."""
    idx = np.unique(np.linspace(0, len(frames) - 1, count).round().astype(
        int))
    tiles = []
    for i in idx:
        tile = frames[i]
        if scale != 1.0:
            interp = (cv2.INTER_NEAREST if float(scale).is_integer() else
                      cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
            tile = cv2.resize(tile, None, fx=scale, fy=scale,
                              interpolation=interp)
        tile = np.ascontiguousarray(tile)
        if labels:
            for color, width in (((0, 0, 0), 3), ((255, 255, 255), 1)):
                cv2.putText(tile, f'#{i}', (3, 13), cv2.FONT_HERSHEY_SIMPLEX,
                            0.4, color, width, cv2.LINE_AA)
        tiles.append(tile)
    cols = cols or len(tiles)
    h, w = tiles[0].shape[:2]
    rows = -(-len(tiles) // cols)
    out = np.full((rows * (h + gap) - gap, cols * (w + gap) - gap, 3), 255,
                  np.uint8)
    for k, tile in enumerate(tiles):
        r, c = divmod(k, cols)
        out[r * (h + gap):r * (h + gap) + h,
            c * (w + gap):c * (w + gap) + w] = tile
    return out


def main(argv: Optional[Sequence[str]] = None) -> str:
    args = parse_args(argv)
    frames = read_frames(args.video)
    strip = frame_strip(frames, args.frames, args.cols, args.scale,
                        not args.no_labels)
    os.makedirs(osp.dirname(osp.abspath(args.out)), exist_ok=True)
    if not cv2.imwrite(args.out, strip, [cv2.IMWRITE_PNG_COMPRESSION, 9]):
        raise OSError(f'could not write {args.out}')
    print(f'{args.out}: {min(args.frames, len(frames))} of {len(frames)} '
          f'frames of {args.video}, {strip.shape[1]}x{strip.shape[0]}')
    return args.out


if __name__ == '__main__':
    main()
