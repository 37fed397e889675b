# Copyright (c) mmlwgan contributors. All rights reserved.
"""The optimised motion-imitation path gives the baseline's frames.

:class:`FastTSF` (G_TSF executor), :class:`ImitationPipeline` (batched,
overlapped) and :class:`ReleaseBaseline` (the release's way) run the same
maths: their outputs must agree within float tolerance, whatever the batch,
layout, number of sources or fusion block.
"""
import threading

import numpy as np
import pytest
import torch
import torch.nn as nn

from mmlwgan.apis import MotionImitationInferencer
from mmlwgan.apis.inferencers import compose_target_thetas
from mmlwgan.apis.inferencers.fast_path import (ImitationPipeline,
                                                StageTimer, frames_to_uint8)
from mmlwgan.models.generators.fast_tsf import (LAYOUTS, FastTSF,
                                                instance_norm_act)
from mmlwgan.models.flows import compose_flow
from mmlwgan.registry import MODELS
from tools.analysis_tools.release_baseline import (ReleaseBaseline,
                                                   compose_flow_loop)
from mmlwgan.synthetic.motions import make_motion
from mmlwgan.synthetic.batch import render_patterned_person
from mmlwgan.utils import register_all_modules

SIZE = 32
NET = dict(base_channels=4, num_downs=2, num_blocks=2)


def generator_cfg(fusion='LiquidWarpingBlock', align_corners=False,
                  tsf_base=4):
    unet = dict(type='ResUnetGenerator', in_channels=6, **NET)
    return dict(
        type='LWBGenerator',
        bg_net=dict(type='ResNetGenerator', in_channels=4, **NET),
        src_net=unet, tsf_net=dict(unet, base_channels=tsf_base),
        fusion=dict(type=fusion, align_corners=align_corners))


def randomize_norms(module, seed=0):
    """Non-trivial instance-norm affine parameters (default: 1, 0)."""
    g = torch.Generator().manual_seed(seed)
    for m in module.modules():
        if isinstance(m, nn.InstanceNorm2d) and m.affine:
            with torch.no_grad():
                m.weight.copy_(0.5 + torch.rand(m.weight.shape, generator=g))
                m.bias.copy_(0.2 * torch.randn(m.bias.shape, generator=g))
    return module


def build_generator(**kwargs):
    register_all_modules(init_default_scope=False)
    torch.manual_seed(0)
    return randomize_norms(MODELS.build(generator_cfg(**kwargs))).eval()


def decode_inputs(gen, n=3, s=1, size=SIZE, seed=0):
    g = torch.Generator().manual_seed(seed)
    src = torch.rand(1, s, 6, size, size, generator=g) * 2 - 1
    tsf = torch.rand(n, 6, size, size, generator=g) * 2 - 1
    flows = torch.rand(n, s, size, size, 2, generator=g) * 2.2 - 1.1
    flows[:, :, :4] = -2.0  # some background rows
    bg = torch.rand(1, 3, size, size, generator=g) * 2 - 1
    with torch.inference_mode():
        cache = gen.encode_sources(src, decode=False)
    return tsf, flows, cache, bg


def assert_same_outputs(a, b, atol=2e-5):
    for key in ('tsf_color', 'tsf_mask', 'tsf_img'):
        torch.testing.assert_close(b[key].contiguous(), a[key].contiguous(),
                                   atol=atol, rtol=1e-4)


# ------------------------------------------------------------- FastTSF
@pytest.mark.parametrize('layout', sorted(LAYOUTS))
@pytest.mark.parametrize('num_sources', [1, 2])
@pytest.mark.parametrize('align_corners', [False, True])
def test_fast_tsf_matches_decode_targets(layout, num_sources,
                                         align_corners):
    gen = build_generator(align_corners=align_corners)
    tsf, flows, cache, bg = decode_inputs(gen, n=3, s=num_sources)
    fast = FastTSF(gen, layout=layout)
    with torch.inference_mode():
        ref = gen.decode_targets(tsf, flows, cache, bg)
        out = fast(tsf, flows, cache, bg)
        # batch by batch gives the same frames
        one = fast(tsf[1:2], flows[1:2], cache, bg)
    assert_same_outputs(ref, out)
    torch.testing.assert_close(one['tsf_img'], ref['tsf_img'][1:2],
                               atol=2e-5, rtol=1e-4)
    assert out['tsf_img'].dtype == torch.float32


@pytest.mark.parametrize('fusion', ['ProjectedLWB', 'AvgLWB',
                                    'AttentionalLWB'])
def test_fast_tsf_other_fusion_blocks(fusion):
    kwargs = dict(fusion=fusion)
    if fusion == 'ProjectedLWB':
        kwargs['tsf_base'] = 2  # the lite layout: a narrower target stream
    if fusion == 'AttentionalLWB':
        register_all_modules(init_default_scope=False)
        torch.manual_seed(0)
        cfg = generator_cfg()
        cfg['fusion'] = dict(type='AttentionalLWB', hidden_channels=4,
                             align_corners=False)
        gen = randomize_norms(MODELS.build(cfg)).eval()
    else:
        gen = build_generator(**kwargs)
    tsf, flows, cache, bg = decode_inputs(gen, n=2, s=2)
    with torch.inference_mode():
        ref = gen.decode_targets(tsf, flows, cache, bg)
        out = FastTSF(gen)(tsf, flows, cache, bg)
    assert_same_outputs(ref, out)


def test_fast_tsf_follows_weight_changes():
    """Cached weight copies (merged heads, channels-last, dtype) are
    rebuilt when a parameter changes in place (personalisation,
    load_state_dict)."""
    gen = build_generator()
    tsf, flows, cache, bg = decode_inputs(gen)
    fast = FastTSF(gen, layout='channels_last')
    with torch.inference_mode():
        before = fast(tsf, flows, cache, bg)['tsf_img']
    with torch.no_grad():
        gen.tsf_net.img_reg[0].weight.mul_(-1.5)
        gen.tsf_net.attention_reg[0].weight.add_(0.05)
        gen.tsf_net.encoders[1][0].weight.mul_(0.5)
    with torch.inference_mode():
        ref = gen.decode_targets(tsf, flows, cache, bg)
        out = fast(tsf, flows, cache, bg)
    assert not torch.allclose(before, ref['tsf_img'])
    assert_same_outputs(ref, out)
    # a whole new state dict too
    state = {k: v + 0.01 * torch.randn_like(v) if v.is_floating_point() else v
             for k, v in gen.state_dict().items()}
    gen.load_state_dict(state)
    with torch.inference_mode():
        assert_same_outputs(gen.decode_targets(tsf, flows, cache, bg),
                            fast(tsf, flows, cache, bg))


def test_fast_tsf_bf16_autocast_is_close():
    gen = build_generator()
    tsf, flows, cache, bg = decode_inputs(gen)
    with torch.inference_mode():
        ref = gen.decode_targets(tsf, flows, cache, bg)['tsf_img']
        out = FastTSF(gen, amp_dtype=torch.bfloat16)(tsf, flows, cache,
                                                     bg)['tsf_img']
    assert out.dtype == torch.float32
    assert (out - ref).abs().max() < 0.1


def test_fast_tsf_rejects_other_generators():
    register_all_modules(init_default_scope=False)
    unet = dict(type='ResUnetGenerator', in_channels=9, **NET)
    wc = MODELS.build(dict(type='ConcatGenerator',
                           bg_net=dict(type='ResNetGenerator',
                                       in_channels=4, **NET),
                           tsf_net=unet, num_sources=1))
    assert not FastTSF.supports(wc)
    with pytest.raises(TypeError, match='LWBGenerator'):
        FastTSF(wc)
    with pytest.raises(ValueError, match='layout'):
        FastTSF(build_generator(), layout='nhwc')


@pytest.mark.parametrize('shape', [(2, 8, 16, 16), (1, 3, 5, 7)])
@pytest.mark.parametrize('cl', [False, True])
@pytest.mark.parametrize('relu', [False, True])
def test_instance_norm_act(shape, cl, relu):
    torch.manual_seed(0)
    norm = randomize_norms(nn.InstanceNorm2d(shape[1], affine=True))
    x = torch.randn(shape) * 3 + 1
    ref = norm(x)
    if relu:
        ref = torch.relu(ref)
    if cl:
        x = x.contiguous(memory_format=torch.channels_last)
    out = instance_norm_act(x.clone(), norm, relu)
    torch.testing.assert_close(out, ref, atol=1e-5, rtol=1e-5)
    if cl:
        assert out.is_contiguous(memory_format=torch.channels_last)
    plain = nn.InstanceNorm2d(shape[1], affine=False)
    torch.testing.assert_close(
        instance_norm_act(x.clone(), plain, False), plain(x.contiguous()),
        atol=1e-5, rtol=1e-5)
    # low precision: statistics in float32
    out16 = instance_norm_act(x.to(torch.bfloat16), norm, relu)
    assert out16.dtype == torch.bfloat16
    torch.testing.assert_close(out16.float(), ref, atol=0.1, rtol=0.05)


def test_projected_lwb_prepares_sources_once():
    """ProjectedLWB: the encode-once projection gives the same result as
    projecting inside the block, and the cache holds the projections."""
    gen = build_generator(fusion='ProjectedLWB', tsf_base=2)
    tsf, flows, cache, bg = decode_inputs(gen, n=2, s=2)
    assert 'prepared' in cache
    assert cache['prepared'][0].shape[2] == gen.tsf_net.fusion_channels[0]
    with torch.inference_mode():
        out = gen.decode_targets(tsf, flows, cache, bg)
        raw = dict(features=cache['features'], num_sources=2)
        ref = gen.decode_targets(tsf, flows, raw, bg)  # projects per call
    assert_same_outputs(ref, out)
    # a cache edited after encoding falls back to the raw features
    edited = dict(cache)
    edited['features'] = [None if f is None else f * 2
                          for f in cache['features']]
    with torch.inference_mode():
        a = gen.decode_targets(tsf, flows, edited, bg)
        b = gen.decode_targets(tsf, flows, dict(features=edited['features'],
                                                num_sources=2), bg)
    torch.testing.assert_close(a['tsf_img'], b['tsf_img'])


# ------------------------------------------------------------ flows
def test_compose_flow_loop_matches_vectorised():
    torch.manual_seed(0)
    B, H, W, V, F = 3, 9, 11, 20, 30
    faces = torch.randint(0, V, (F, 3))
    face_idx = torch.randint(-1, F, (B, H, W))
    bary = torch.rand(B, H, W, 3)
    src = torch.rand(B, V, 3) * 2 - 1
    vis = torch.rand(B, F) > 0.3
    for v in (None, vis):
        torch.testing.assert_close(
            compose_flow_loop(face_idx, bary, faces, src, v),
            compose_flow(face_idx, bary, faces, src, v))
    shared = src[:1].expand(B, -1, -1)
    torch.testing.assert_close(
        compose_flow_loop(face_idx, bary, faces, shared),
        compose_flow(face_idx, bary, faces, shared))


# ------------------------------------------------------------ pipeline
@pytest.fixture(scope='module')
def scene(synthetic_smpl_npz):
    from mmlwgan.visualization import BodyRenderer
    register_all_modules(init_default_scope=False)
    torch.manual_seed(0)
    model = MODELS.build(dict(
        type='LiquidWarpingGAN', generator=generator_cfg(),
        body_model=dict(type='SMPL', model_path=synthetic_smpl_npz),
        rasterizer=dict(type='MeshRasterizer', image_size=SIZE)))
    randomize_norms(model.generator)
    inf = MotionImitationInferencer(model.eval(), device='cpu',
                                    show_progress=False)
    renderer = BodyRenderer(dict(type='SMPL', model_path=synthetic_smpl_npz),
                            image_size=SIZE)
    src_img, src_theta = render_patterned_person(renderer, make_motion('rest', 1),
                                       torch.zeros(1, 10), 0)
    _, ref_theta = render_patterned_person(renderer, make_motion('dance', 10),
                                 torch.full((1, 10), 0.5), 7)
    tgt = compose_target_thetas(src_theta[0], ref_theta, 'smooth')
    return dict(inf=inf, src_img=src_img[0], src_theta=src_theta,
                ref_theta=ref_theta, tgt=tgt)


def collect(runner, thetas):
    frames, starts = [], []

    def sink(batch, start):
        starts.append(start)
        frames.extend(batch)

    n = runner.run(thetas, sink)
    assert n == len(frames) == len(thetas)
    return np.stack(frames), starts


def encoded(scene):
    inf = scene['inf']
    with torch.inference_mode():
        state = inf.prepare_sources(scene['src_img'], scene['src_theta'])
        return inf.encode_sources(state)


@pytest.mark.parametrize('batch', [1, 4])
@pytest.mark.parametrize('overlap', [False, True])
def test_pipeline_gives_the_baseline_frames(scene, batch, overlap):
    """The essential check: the optimised path (batched geometry,
    vectorised flow, FastTSF, worker threads) makes the frames the
    release-way baseline makes (batch 1, flow loop, plain modules)."""
    inf = scene['inf']
    enc = encoded(scene)
    base, base_starts = collect(ReleaseBaseline(inf, enc), scene['tgt'])
    assert base_starts == list(range(len(scene['tgt'])))
    pipe = ImitationPipeline(inf, enc, batch, fast=True, overlap=overlap)
    assert pipe.tsf is not None
    ours, starts = collect(pipe, scene['tgt'])
    assert starts == list(range(0, len(scene['tgt']), batch))
    diff = np.abs(ours.astype(int) - base.astype(int))
    assert diff.max() <= 1
    assert diff.mean() < 0.01
    # the float images, before rounding
    th = torch.from_numpy(scene['tgt'][:batch])
    with torch.inference_mode():
        img = pipe.generate(pipe.geometry(th))
        ref = torch.cat([ReleaseBaseline(inf, enc).frame(th[i:i + 1])
                         for i in range(batch)])
    torch.testing.assert_close(img.contiguous(), ref, atol=2e-5, rtol=1e-4)


def test_pipeline_without_fast_tsf_and_multi_source(scene):
    inf = scene['inf']
    with torch.inference_mode():
        state = inf.prepare_sources(
            [scene['src_img'], scene['src_img'][:, ::-1].copy()],
            np.concatenate([scene['src_theta'], scene['src_theta']]))
        enc = inf.encode_sources(state)
    base, _ = collect(ReleaseBaseline(inf, enc), scene['tgt'])
    for fast in (False, True):
        ours, _ = collect(ImitationPipeline(inf, enc, 3, fast=fast),
                          scene['tgt'])
        assert np.abs(ours.astype(int) - base.astype(int)).max() <= 1


def test_pipeline_front_warp_and_stage_timer(scene):
    inf = scene['inf']
    enc = encoded(scene)
    timer = StageTimer()
    pipe = ImitationPipeline(inf, enc, 4, fast=True, overlap=False,
                             front_warp=True, timer=timer)
    ours, _ = collect(pipe, scene['tgt'])
    th = torch.from_numpy(scene['tgt'])
    with torch.inference_mode():
        ndc, _ = inf.project(th)
        ref = frames_to_uint8(inf.decode(enc, ndc, True)['img']).numpy()
    assert np.abs(ours.astype(int) - ref.astype(int)).max() <= 1
    ms = timer.per_item_ms()
    for stage in ('smpl', 'geometry', 'G_TSF+compose', 'emit'):
        assert stage in ms and ms[stage] >= 0


@pytest.mark.parametrize('where', ['sink', 'batches'])
def test_pipeline_propagates_errors(scene, where):
    inf = scene['inf']
    enc = encoded(scene)
    before = threading.active_count()

    def sink(frames, start):
        if where == 'sink' and start >= 4:
            raise RuntimeError('disk full')

    def batches():
        yield torch.from_numpy(scene['tgt'][:2])
        if where == 'batches':
            raise RuntimeError('bad reference frame')
        yield torch.from_numpy(scene['tgt'][2:])

    pipe = ImitationPipeline(inf, enc, 2, fast=True, overlap=True)
    with pytest.raises(RuntimeError, match='disk full|bad reference'):
        pipe.run(batches() if where == 'batches' else scene['tgt'], sink)
    assert threading.active_count() <= before  # the workers have ended


def test_inferencer_fast_option_gives_the_same_video(scene, tmp_path):
    inf = scene['inf']
    kwargs = dict(src_smpl=scene['src_theta'], batch_size=4)
    a = inf(scene['src_img'], scene['ref_theta'], fast=False, **kwargs)
    b = inf(scene['src_img'], scene['ref_theta'], fast=True, **kwargs)
    fa, fb = np.stack(a['frames']), np.stack(b['frames'])
    assert fa.shape == fb.shape == (10, SIZE, SIZE, 3)
    assert np.abs(fa.astype(int) - fb.astype(int)).max() <= 1
    res = inf(scene['src_img'], scene['ref_theta'], fast=True,
              out_dir=str(tmp_path), side_by_side=True, **kwargs)
    assert res['num_frames'] == 10
    assert res['video'] and res['side_by_side']


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
def test_pipeline_on_cuda_matches_cpu(scene):
    inf = scene['inf']
    enc = encoded(scene)
    cpu, _ = collect(ImitationPipeline(inf, enc, 4), scene['tgt'])
    inf_cuda = MotionImitationInferencer(inf.model, device='cuda',
                                         show_progress=False)
    with torch.inference_mode():
        state = inf_cuda.prepare_sources(scene['src_img'],
                                         scene['src_theta'])
        enc_cuda = inf_cuda.encode_sources(state)
    for amp, tol in ((None, 2), (torch.float16, 8)):
        pipe = ImitationPipeline(
            inf_cuda, enc_cuda, 4,
            fast=FastTSF(inf_cuda.model.generator, amp_dtype=amp))
        gpu, _ = collect(pipe, scene['tgt'])
        assert np.abs(gpu.astype(int) - cpu.astype(int)).max() <= tol
    inf.model.to('cpu')


def test_fast_tsf_compile_falls_back_to_eager(monkeypatch):
    """Without a working compiler the executor records why and runs eager
    (the same outputs)."""

    def broken(*args, **kwargs):
        raise RuntimeError('no C++ compiler')

    monkeypatch.setattr(torch, 'compile', broken)
    gen = build_generator()
    tsf, flows, cache, bg = decode_inputs(gen)
    fast = FastTSF(gen, compile=True)
    with torch.inference_mode():
        out = fast(tsf, flows, cache, bg)
        ref = gen.decode_targets(tsf, flows, cache, bg)
    assert 'no C++ compiler' in fast.compile_error
    assert_same_outputs(ref, out)


@pytest.mark.parametrize('layout', sorted(LAYOUTS))
def test_fast_tsf_mirrors_residual_color(layout):
    """``residual_color``: FastTSF's colour is I_syn + the head, as
    ``decode_targets``'; with the colour head zeroed it is I_syn."""
    register_all_modules(init_default_scope=False)
    torch.manual_seed(0)
    gen = randomize_norms(MODELS.build(
        dict(generator_cfg(), residual_color=True))).eval()
    tsf, flows, cache, bg = decode_inputs(gen, n=3)
    fast = FastTSF(gen, layout=layout)
    with torch.inference_mode():
        ref = gen.decode_targets(tsf, flows, cache, bg)
        out = fast(tsf, flows, cache, bg)
    assert_same_outputs(ref, out)
    with torch.no_grad():
        gen.tsf_net.color_head.weight.zero_()
    with torch.inference_mode():
        out = fast(tsf, flows, cache, bg)
    torch.testing.assert_close(out['tsf_color'].contiguous(), tsf[:, :3],
                               atol=0, rtol=0)
