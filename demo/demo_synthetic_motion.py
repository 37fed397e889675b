# Copyright (c) mmlwgan contributors. All rights reserved.
"""Demo of the geometry core on bundled (generated) inputs.

A synthetic SMPL-format body performs a motion. For every frame the
transformation flow from a source picture (the body at rest) to the frame's
pose is composed, and the source picture is warped with it: the 'warp-only'
motion imitation that the Liquid Warping GAN's generator refines. The video
shows source | target pose | warped source side by side.

Example:
    python demo/demo_synthetic_motion.py --out-dir outputs/demo --motion dance
"""
import argparse
import os.path as osp
import time

import torch

from mmlwgan.models.flows import FlowComposer
from mmlwgan.models.renderers import shade_vertex_colors
from mmlwgan.synthetic import get_synthetic_smpl_path
from mmlwgan.synthetic.motions import MOTIONS, make_motion
from mmlwgan.utils import AtomicVideoWriter, write_image
from mmlwgan.visualization import (BodyRenderer, fit_weak_perspective_camera,
                                   hstack_labelled, to_uint8)


def stripes_colors(verts: torch.Tensor, base: torch.Tensor) -> torch.Tensor:
    """Patterned per-vertex colours: part colours with horizontal stripes and
    a diagonal print, so that warping errors are visible."""
    y, x = verts[:, 1], verts[:, 0]
    stripes = 0.5 + 0.5 * torch.sign(torch.sin(40 * y))
    prints = 0.5 + 0.5 * torch.sin(25 * (x + y))
    pattern = (0.65 + 0.35 * stripes)[:, None] * (0.8 + 0.2 * prints)[:, None]
    return (base * pattern).clamp(0, 1)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--out-dir', default='outputs/demo')
    parser.add_argument('--motion', default='dance', choices=sorted(MOTIONS))
    parser.add_argument('--num-frames', type=int, default=90)
    parser.add_argument('--size', type=int, default=256)
    parser.add_argument('--batch', type=int, default=8)
    parser.add_argument('--cache-dir', default=osp.expanduser(
        '~/.cache/mmlwgan/synthetic_smpl'))
    args = parser.parse_args(argv)

    smpl_path = get_synthetic_smpl_path(args.cache_dir)
    renderer = BodyRenderer(dict(type='SMPL', model_path=smpl_path),
                            image_size=args.size)
    composer = FlowComposer(renderer.rasterizer)
    num_betas = renderer.body_model.num_betas
    poses = torch.from_numpy(make_motion(args.motion, args.num_frames))
    src_pose = torch.from_numpy(make_motion('rest', 1))
    betas = torch.zeros(1, num_betas)
    colors = stripes_colors(renderer.body_model.v_template,
                            renderer.default_colors())
    out_video = osp.join(args.out_dir, 'synthetic_motion.mp4')
    t0 = time.perf_counter()
    with torch.inference_mode():
        src_verts = renderer.posed_vertices(src_pose, betas)
        # one camera for the whole sequence, fitted to the source with room
        # for the motion
        cam = fit_weak_perspective_camera(src_verts, margin=0.25)
        src_ndc = renderer.project(src_verts, cam)
        src_frag = renderer.rasterize(src_ndc)
        src_img = shade_vertex_colors(src_frag, renderer.faces, src_ndc,
                                      colors, background=1.0)
        src_u8 = to_uint8(src_img[0])
        with AtomicVideoWriter(out_video, fps=30) as writer:
            for start in range(0, args.num_frames, args.batch):
                pose = poses[start:start + args.batch]
                b = pose.shape[0]
                tgt_img, tgt_ndc, _ = renderer.render(
                    pose, betas.expand(b, -1), cam.expand(b, -1), colors)
                flow = composer(src_ndc.expand(b, -1, -1), tgt_ndc,
                                renderer.faces)['flow']
                warped = composer.warp(src_img.expand(b, -1, -1, -1), flow)
                body = (flow[..., 0] > -1.5).unsqueeze(1)
                warped = torch.where(body, warped, torch.ones_like(warped))
                for i in range(b):
                    frame = hstack_labelled(
                        [src_u8.copy(), to_uint8(tgt_img[i]),
                         to_uint8(warped[i])],
                        ['source', 'target pose', 'warped source'])
                    writer.write(frame)
                    if start + i == args.num_frames // 3:
                        write_image(osp.join(args.out_dir,
                                             'synthetic_motion.png'), frame)
    dt = time.perf_counter() - t0
    print(f'wrote {out_video}: {args.num_frames} frames at {args.size}px in '
          f'{dt:.1f}s ({args.num_frames / dt:.1f} frames/s)')


if __name__ == '__main__':
    main()
