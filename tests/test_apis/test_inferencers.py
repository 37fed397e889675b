# Copyright (c) mmlwgan contributors. All rights reserved.
"""End-to-end tests of the three inferencers on tiny synthetic inputs."""
import importlib.util
import os
import os.path as osp
import pickle
import threading
import time

import cv2
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from mmengine.config import Config

from mmlwgan.apis import (AppearanceTransferInferencer,
                          MotionImitationInferencer, NovelViewInferencer,
                          init_model)
from mmlwgan.apis.inferencers import (CAM_STRATEGIES, compose_target_thetas,
                                      transfer_cams)
from mmlwgan.models.editors.background import inpaint_kernel
from mmlwgan.models.flows import dilate
from mmlwgan.registry import INFERENCERS, MODELS
from mmlwgan.synthetic.motions import make_motion
from mmlwgan.synthetic.batch import render_patterned_person
from mmlwgan.utils import register_all_modules

SIZE = 32
NET = dict(base_channels=4, num_downs=2, num_blocks=1)
NUM_REF = 12


def tiny_cfg(smpl_path, **kwargs):
    unet = dict(type='ResUnetGenerator', in_channels=6, **NET)
    cfg = dict(
        type='LiquidWarpingGAN',
        generator=dict(
            type='LWBGenerator',
            bg_net=dict(type='ResNetGenerator', in_channels=4, **NET),
            src_net=unet, tsf_net=dict(unet),
            fusion=dict(type='LiquidWarpingBlock', align_corners=False)),
        body_model=dict(type='SMPL', model_path=smpl_path),
        rasterizer=dict(type='MeshRasterizer', image_size=SIZE))
    cfg.update(kwargs)
    return cfg


def write_video(path, frames, fps=30):
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(path, cv2.VideoWriter_fourcc(*'mp4v'), fps,
                             (w, h))
    for f in frames:
        writer.write(np.ascontiguousarray(f[..., ::-1]))
    writer.release()


def count_frames(path):
    cap = cv2.VideoCapture(path)
    n = 0
    size = None
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        size = frame.shape[:2]
        n += 1
    cap.release()
    return n, size


@pytest.fixture(scope='module')
def setup(tmp_path_factory, synthetic_smpl_npz):
    """Config, checkpoint, a source image + SMPL and a reference video +
    SMPL sequence (another person) on disk."""
    from mmlwgan.visualization import BodyRenderer
    register_all_modules(init_default_scope=False)
    root = tmp_path_factory.mktemp('apis')
    torch.manual_seed(0)
    cfg = tiny_cfg(synthetic_smpl_npz)
    model = MODELS.build(cfg)
    ckpt = str(root / 'tiny.pth')
    torch.save({'state_dict': model.state_dict()}, ckpt)
    cfg_path = str(root / 'tiny_cfg.py')
    Config(dict(model=cfg, default_scope='mmlwgan')).dump(cfg_path)

    renderer = BodyRenderer(dict(type='SMPL', model_path=synthetic_smpl_npz),
                            image_size=SIZE)
    src_img, src_theta = render_patterned_person(renderer, make_motion('rest', 1),
                                       torch.zeros(1, 10), seed=0)
    src = str(root / 'src.png')
    cv2.imwrite(src, src_img[0][..., ::-1])
    # a second source (the back) for multi-source runs
    back_pose = make_motion('rest', 1)
    back_pose[:, :3] = make_motion('turn_around', 3)[1, :3]
    back_img, back_theta = render_patterned_person(renderer, back_pose,
                                         torch.zeros(1, 10), seed=0)
    src_dir = root / 'sources'
    src_dir.mkdir()
    cv2.imwrite(str(src_dir / 'a_front.png'), src_img[0][..., ::-1])
    cv2.imwrite(str(src_dir / 'b_back.png'), back_img[0][..., ::-1])

    ref_pose = make_motion('wave', NUM_REF)
    ref_imgs, ref_theta = render_patterned_person(
        renderer, ref_pose, torch.full((1, 10), 0.5), seed=7)
    ref_theta[:, 1] += np.linspace(0, 0.1, NUM_REF)  # drifts right
    big = [cv2.resize(f, (48, 48)) for f in ref_imgs]  # not the model size
    video = str(root / 'ref.mp4')
    write_video(video, big)
    ref_pkl = str(root / 'pose_shape.pkl')
    with open(ref_pkl, 'wb') as f:
        pickle.dump(dict(cams=ref_theta[:, :3], pose=ref_theta[:, 3:75],
                         shape=ref_theta[:, 75:]), f)
    return dict(root=root, cfg=cfg, cfg_path=cfg_path, ckpt=ckpt, src=src,
                src_img=src_img[0], src_theta=src_theta,
                src_dir=str(src_dir),
                src_thetas2=np.concatenate([src_theta, back_theta]),
                ref_video=video, ref_pkl=ref_pkl, ref_theta=ref_theta,
                ref_img=ref_imgs[0], model=init_model(cfg_path, ckpt))


# ---------------------------------------------------------------- imitation
def test_motion_imitation_end_to_end(setup, tmp_path):
    inferencer = MotionImitationInferencer(setup['cfg_path'], setup['ckpt'],
                                           device='cpu',
                                           show_progress=False)
    assert isinstance(inferencer.model, MODELS.get('LiquidWarpingGAN'))
    out_dir = str(tmp_path / 'out')
    res = inferencer(setup['src'], setup['ref_video'],
                     src_smpl=setup['src_theta'], ref_smpl=setup['ref_pkl'],
                     out_dir=out_dir, batch_size=5, side_by_side=True,
                     save_frames=True, smooth=3, front_warp=True)
    assert res['num_frames'] == NUM_REF and res['fps'] == 30
    n, size = count_frames(res['video'])
    assert n == NUM_REF and size == (SIZE, SIZE)
    n, size = count_frames(res['side_by_side'])
    assert n == NUM_REF and size == (SIZE, 3 * SIZE)
    pngs = sorted(os.listdir(res['frames_dir']))
    assert len(pngs) == NUM_REF and pngs[0] == '000000.png'
    assert res['frames'] is None
    assert res['tgt_smpl'].shape == (NUM_REF, 85)
    # target = source shape + reference pose
    np.testing.assert_allclose(res['tgt_smpl'][:, 75:],
                               np.repeat(setup['src_theta'][:, 75:], NUM_REF,
                                         0))
    # nothing else was written (no temporary files left)
    assert sorted(os.listdir(out_dir)) == sorted(
        osp.basename(res[k]) for k in ('video', 'side_by_side',
                                       'frames_dir'))


def test_motion_imitation_encodes_sources_once(setup, monkeypatch):
    inferencer = MotionImitationInferencer(setup['model'],
                                           show_progress=False)
    gen = inferencer.model.generator
    calls = dict(encode=0, decode=0, batches=[])
    encode, decode = gen.encode_sources, gen.decode_targets

    def spy_encode(*args, **kwargs):
        calls['encode'] += 1
        return encode(*args, **kwargs)

    def spy_decode(tsf_inputs, flows, cache, bg=None):
        calls['decode'] += 1
        calls['batches'].append(tsf_inputs.shape[0])
        assert flows.shape[1] == 2  # both sources fused
        return decode(tsf_inputs, flows, cache, bg)

    monkeypatch.setattr(gen, 'encode_sources', spy_encode)
    monkeypatch.setattr(gen, 'decode_targets', spy_decode)
    # the plain path (the fast one runs G_TSF through FastTSF)
    res = inferencer(setup['src_dir'], setup['ref_pkl'],
                     src_smpl=setup['src_thetas2'], batch_size=5, fast=False)
    assert calls['encode'] == 1
    assert calls['batches'] == [5, 5, 2]
    assert len(res['frames']) == NUM_REF

    # the fast path: sources encoded once, G_TSF batched
    from mmlwgan.models.generators import FastTSF
    run_fast = FastTSF.__call__
    calls.update(encode=0, batches=[])

    def spy_fast(self, tsf_inputs, flows, cache, bg=None):
        calls['batches'].append(tsf_inputs.shape[0])
        assert flows.shape[1] == 2
        return run_fast(self, tsf_inputs, flows, cache, bg)

    monkeypatch.setattr(FastTSF, '__call__', spy_fast)
    fast = inferencer(setup['src_dir'], setup['ref_pkl'],
                      src_smpl=setup['src_thetas2'], batch_size=5, fast=True)
    assert calls['encode'] == 1
    assert calls['batches'] == [5, 5, 2]
    assert np.abs(np.stack(fast['frames']).astype(int)
                  - np.stack(res['frames']).astype(int)).max() <= 1
    assert res['frames'][0].shape == (SIZE, SIZE, 3)
    assert res['frames'][0].dtype == np.uint8


def test_batching_does_not_change_frames(setup):
    inferencer = MotionImitationInferencer(setup['model'],
                                           show_progress=False)
    kwargs = dict(src_smpl=setup['src_theta'], cam_strategy='copy')
    a = inferencer(setup['src'], setup['ref_pkl'], batch_size=1, **kwargs)
    b = inferencer(setup['src'], setup['ref_pkl'], batch_size=12, **kwargs)
    diff = np.abs(np.stack(a['frames']).astype(int) -
                  np.stack(b['frames']).astype(int))
    assert diff.max() <= 1


def test_backgrounds(setup):
    inferencer = MotionImitationInferencer(setup['model'],
                                           show_progress=False)
    state = inferencer.prepare_sources(setup['src'], setup['src_theta'])
    user = np.zeros((50, 70, 3), np.uint8)
    user[..., 1] = 255
    enc = inferencer.encode_sources(state,
                                    inferencer.resolve_background(user))
    green = torch.tensor([-1.0, 1.0, -1.0]).view(1, 3, 1, 1)
    torch.testing.assert_close(enc['bg'], green.expand(1, 3, SIZE, SIZE))
    gen = inferencer.encode_sources(state, 'generated')['bg']
    orig = inferencer.encode_sources(state, 'original')['bg']
    # 'original': the source's own pixels away from the body
    keep = enc['geo']['bg_input_mask'][0, :1].bool().expand(1, 3, -1, -1)
    torch.testing.assert_close(orig[keep], state.imgs[:1][keep])
    torch.testing.assert_close(orig[~keep], gen[~keep])
    res = inferencer(setup['src'], setup['ref_pkl'],
                     src_smpl=setup['src_theta'], background='original')
    assert len(res['frames']) == NUM_REF

    # 'inpainted': the source's own pixels away from its silhouette grown
    # by inpaint_kernel, the person removed inside (filled from around)
    inp = inferencer.encode_sources(state, 'inpainted')['bg']
    body = enc['geo']['src_body'][0, :1]
    k = inpaint_kernel(SIZE)
    hole = dilate(body, k).bool().expand(1, 3, -1, -1)
    torch.testing.assert_close(inp[~hole], state.imgs[:1][~hole])
    on_body = body.bool().expand(1, 3, -1, -1)
    # the fill is not G_BG's and not the person's colours: it is made of the
    # pixels around the hole (within their range, channel by channel)
    assert not torch.allclose(inp[on_body], gen[on_body], atol=0.05)
    ring = (dilate(body, k + 10).bool() & ~dilate(body, k).bool()).expand(
        1, 3, -1, -1)
    src = state.imgs[:1]
    for c in range(3):
        fill = inp[:, c][hole[:, c]]
        around = src[:, c][ring[:, c]]
        assert around.min() - 0.02 <= fill.min()
        assert fill.max() <= around.max() + 0.02
    res = inferencer(setup['src'], setup['ref_pkl'],
                     src_smpl=setup['src_theta'], background='inpainted')
    assert len(res['frames']) == NUM_REF
    with pytest.raises(ValueError, match="background must be one of"):
        inferencer.model.encode_sources(state.imgs, state.theta, 'blurred')


def test_front_face_warp_pastes_only_the_face(setup):
    inferencer = MotionImitationInferencer(setup['model'],
                                           show_progress=False)
    state = inferencer.prepare_sources(setup['src'], setup['src_theta'])
    enc = inferencer.encode_sources(state)
    tgt = compose_target_thetas(setup['src_theta'][0], setup['ref_theta'][:4],
                                'source')
    ndc, _ = inferencer.project(torch.from_numpy(tgt))
    plain = inferencer.decode(enc, ndc)
    front = inferencer.decode(enc, ndc, front_warp=True)
    face_idx = plain['fragments'].face_idx
    faces = inferencer.front_faces()
    assert faces.any() and not faces.all()
    region = ((face_idx >= 0) & faces[face_idx.clamp(min=0)]).unsqueeze(1)
    region = region.expand(-1, 3, -1, -1)
    assert region.any()
    torch.testing.assert_close(front['img'][~region], plain['img'][~region])
    # inside: blended towards the directly warped source pixels
    alpha = 1 - plain['mask'].expand(-1, 3, -1, -1)[region]
    expected = plain['img'][region] * (1 - alpha) + \
        plain['warped'][region] * alpha
    torch.testing.assert_close(front['img'][region], expected)


GENERATORS = dict(
    att_lwb=dict(fusion=dict(type='AttentionalLWB', align_corners=False)),
    release_align_corners=dict(fusion=dict(type='LiquidWarpingBlock',
                                           align_corners=True)),
    w_t=dict(type='TextureWarpingGenerator', src_net=None),
    w_c=dict(type='ConcatGenerator', src_net=None, num_sources=1,
             tsf_net=dict(type='ResUnetGenerator', in_channels=9, **NET)),
)


@pytest.mark.parametrize('name', sorted(GENERATORS))
def test_imitation_with_other_generators(setup, name, synthetic_smpl_npz):
    cfg = tiny_cfg(synthetic_smpl_npz)
    gen = dict(cfg['generator'], **GENERATORS[name])
    if gen.get('src_net', 1) is None:
        gen.pop('src_net')
        gen.pop('fusion')
    cfg['generator'] = gen
    model = MODELS.build(cfg).eval()
    inferencer = MotionImitationInferencer(model, show_progress=False)
    res = inferencer(setup['src_dir'], setup['ref_theta'][:5],
                     src_smpl=setup['src_thetas2'], batch_size=3,
                     front_warp=True)
    assert len(res['frames']) == 5
    assert res['frames'][0].shape == (SIZE, SIZE, 3)
    # identity target: the flows read the source's pixels in the
    # 'consistent' convention, the release's read positions (the pixel-centre
    # grid sampled with align_corners=True) in the 'release' one
    state = inferencer.prepare_sources(setup['src'], setup['src_theta'])
    ndc, _ = inferencer.project(state.theta)
    out = inferencer.decode(inferencer.encode_sources(state), ndc)
    body = out['fragments'].face_idx[0] >= 0
    expected = state.imgs[0]
    if model.flow_convention == 'release':
        H, W = expected.shape[-2:]
        ys = (2 * torch.arange(H) + 1) / H - 1
        xs = (2 * torch.arange(W) + 1) / W - 1
        grid = torch.stack(torch.meshgrid(xs, ys, indexing='xy'), -1)[None]
        expected = F.grid_sample(expected[None], grid, align_corners=True)[0]
    torch.testing.assert_close(out['warped'][0][:, body],
                               expected[:, body], atol=1e-4, rtol=0)


def test_hmr_path_and_person_crop(setup, synthetic_smpl_npz):
    """Without SMPL the model's HMR gives it; with a box the crop camera is
    mapped back to the whole image."""
    cfg = tiny_cfg(synthetic_smpl_npz, hmr=dict(
        type='HMR', backbone=dict(type='ResNetV2', depth=50,
                                  stem_channels=4, base_channels=2),
        hidden_channels=16))
    model = MODELS.build(cfg).eval()
    inferencer = MotionImitationInferencer(model, show_progress=False)
    frame = np.zeros((60, 40, 3), np.uint8)
    whole = inferencer.estimate_smpl([frame])
    assert whole.shape == (1, 85) and whole[0, 0] > 0
    # a box: a point at crop NDC u lands where the mapped camera puts it
    box = np.array([8.0, 12.0, 30.0, 50.0])
    theta = inferencer.estimate_smpl([frame], box[None])
    from mmlwgan.models.body import (crop_person, crop_to_image_coords,
                                     prepare_hmr_inputs)
    resized = cv2.resize(frame, (SIZE, SIZE))
    rbox = box * np.array([SIZE / 40, SIZE / 60, SIZE / 40, SIZE / 60])
    crop, info = crop_person(resized, rbox)
    crop_theta = model.hmr(prepare_hmr_inputs([crop]))[-1].detach().numpy()
    X = np.array([[0.1, -0.3], [-0.2, 0.25]])
    u = crop_theta[0, 0] * (X + crop_theta[0, 1:3])  # crop NDC
    px = crop_to_image_coords(u, info)  # pixels of the resized image
    x = theta[0, 0] * (X + theta[0, 1:3])  # image NDC
    np.testing.assert_allclose((x + 1) * SIZE / 2 - 0.5, px, atol=1e-3)
    # end to end on images only (source and reference video)
    res = inferencer(setup['src'], setup['ref_video'], batch_size=6)
    assert len(res['frames']) == NUM_REF
    assert res['ref_smpl'].shape == (NUM_REF, 85)


def test_long_reference_streams_with_bounded_memory(setup, tmp_path):
    """300 reference frames (a 200 px video: 36 MB decoded) stream through
    in batches: resident memory stays flat during the run instead of
    growing with the frames read and written."""
    n, side = 300, 200
    t = np.linspace(0, 1, side, dtype=np.float32)
    video = str(tmp_path / 'long.mp4')
    warm_video, n_warm = str(tmp_path / 'warm.mp4'), 48
    fourcc = cv2.VideoWriter_fourcc(*'mp4v')
    writer = cv2.VideoWriter(video, fourcc, 30, (side, side))
    warm_writer = cv2.VideoWriter(warm_video, fourcc, 30, (side, side))
    for i in range(n):
        frame = np.zeros((side, side, 3), np.uint8)
        frame[..., 0] = (255 * ((t[None] + i / n) % 1)).astype(np.uint8)
        frame[..., 1] = (255 * t[:, None]).astype(np.uint8)
        writer.write(frame)
        if i < n_warm:
            warm_writer.write(frame)
    writer.release()
    warm_writer.release()
    thetas = np.repeat(setup['ref_theta'][:1], n, 0)
    thetas[:, 3:75] = make_motion('dance', n)
    inferencer = MotionImitationInferencer(setup['model'],
                                           show_progress=False)
    # the plain path: the fast one's worker threads allocate from their own
    # malloc arenas, which moves RSS by tens of MB from run to run (bounded:
    # tools/analysis_tools/benchmark_streaming.py --path fast)
    kwargs = dict(src_smpl=setup['src_theta'], side_by_side=True,
                  batch_size=16, out_dir=str(tmp_path / 'out'), fast=False)
    # warm up (codecs, worker threads, heap) on a short run of the same kind
    inferencer(setup['src'], warm_video, ref_smpl=thetas[:n_warm],
               output_name='warmup', **kwargs)

    page = os.sysconf('SC_PAGE_SIZE')

    def rss():
        with open('/proc/self/statm') as f:
            return int(f.read().split()[1]) * page / 2**20

    samples = []
    done = threading.Event()

    def sample():
        while not done.is_set():
            samples.append(rss())
            time.sleep(0.002)

    base = rss()
    thread = threading.Thread(target=sample)
    thread.start()
    start = time.perf_counter()
    try:
        res = inferencer(setup['src'], video, ref_smpl=thetas,
                         output_name='long', **kwargs)
    finally:
        done.set()
        thread.join()
    elapsed = time.perf_counter() - start
    assert count_frames(res['side_by_side']) == (n, (SIZE, 3 * SIZE))
    assert count_frames(res['video'])[0] == n
    assert len(samples) > 50
    fifth = len(samples) // 5
    early = float(np.median(samples[fifth:2 * fifth]))
    late = float(np.median(samples[-fifth:]))
    peak = max(samples) - base
    # keeping the decoded frames would add 36 MB between the two
    assert late - early < 10, (early, late)
    assert peak < 250, f'peak RSS growth {peak:.0f} MB'
    print(f'\n300 frames in {elapsed:.2f} s ({n / elapsed:.0f} frames/s); '
          f'RSS early {early:.0f} MB, late {late:.0f} MB, peak +{peak:.0f} '
          'MB')


def test_cli_motion_imitation(setup, tmp_path, capsys):
    path = osp.join(osp.dirname(__file__), '..', '..', 'demo',
                    'motion_imitation.py')
    spec = importlib.util.spec_from_file_location('demo_mi', path)
    demo = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(demo)
    smpl = str(tmp_path / 'src.npy')
    np.save(smpl, setup['src_theta'])
    out = str(tmp_path / 'cli')
    rc = demo.main([
        '--config', setup['cfg_path'], '--checkpoint', setup['ckpt'],
        '--src', setup['src'], '--src-smpl', smpl, '--ref',
        setup['ref_pkl'], '--out-dir', out, '--device', 'cpu',
        '--batch-size', '4', '--cam-strategy', 'source', '--smooth',
        '--side-by-side', '--no-progress'
    ])
    printed = capsys.readouterr().out.split()
    assert rc == 0
    assert printed == [osp.join(out, 'src-pose_shape.mp4'),
                       osp.join(out, 'src-pose_shape_side_by_side.mp4')]
    assert count_frames(printed[0])[0] == NUM_REF
    # a bad input: one error line, exit status 1, nothing written
    rc = demo.main([
        '--config', setup['cfg_path'], '--src', setup['src'], '--ref',
        setup['ref_pkl'], '--out-dir', str(tmp_path / 'bad'), '--device',
        'cpu', '--no-progress'
    ])
    err = capsys.readouterr().err
    assert rc == 1 and err.startswith('error:') and '--src-smpl' in err
    assert not osp.exists(tmp_path / 'bad') or not os.listdir(tmp_path /
                                                              'bad')


# -------------------------------------------------------- camera strategies
def test_camera_strategies_on_hand_made_sequences():
    src = np.array([0.8, 0.1, -0.2], np.float32)
    ref = np.array([[1.0, 0.0, 0.0], [1.1, 0.3, 0.1], [0.9, -0.2, 0.5]],
                   np.float32)
    np.testing.assert_allclose(
        transfer_cams(src, ref, 'smooth'),
        [[0.8, 0.1, -0.2], [0.8, 0.4, -0.1], [0.8, -0.1, 0.3]], atol=1e-6)
    np.testing.assert_allclose(transfer_cams(src, ref, 'source'),
                               np.repeat(src[None], 3, 0))
    np.testing.assert_allclose(transfer_cams(src, ref, 'copy'), ref)
    # chunks of a stream: the displacement is from the FIRST frame
    np.testing.assert_allclose(
        transfer_cams(src, ref[1:], 'smooth', first_ref_cam=ref[0]),
        transfer_cams(src, ref, 'smooth')[1:], atol=1e-6)
    src_theta = np.arange(85, dtype=np.float32) / 100
    src_theta[0] = 0.8
    ref_th = np.random.default_rng(0).normal(size=(3, 85)).astype(np.float32)
    ref_th[:, :3] = ref
    tgt = compose_target_thetas(src_theta, ref_th, 'copy')
    np.testing.assert_allclose(tgt[:, 3:75], ref_th[:, 3:75])
    np.testing.assert_allclose(tgt[:, 75:], np.repeat(src_theta[None, 75:],
                                                      3, 0))
    assert set(CAM_STRATEGIES) == {'smooth', 'source', 'copy'}
    with pytest.raises(ValueError, match='cam_strategy'):
        transfer_cams(src, ref, 'follow')


def test_imitation_applies_camera_strategy(setup):
    inferencer = MotionImitationInferencer(setup['model'],
                                           show_progress=False)
    ref = setup['ref_theta']
    for strategy in CAM_STRATEGIES:
        res = inferencer(setup['src'], ref, src_smpl=setup['src_theta'],
                         cam_strategy=strategy, batch_size=12)
        np.testing.assert_allclose(
            res['tgt_smpl'][:, :3],
            transfer_cams(setup['src_theta'][0, :3], ref[:, :3], strategy),
            atol=1e-6)


# ------------------------------------------------------ appearance transfer
def test_appearance_transfer_end_to_end(setup, tmp_path):
    inferencer = AppearanceTransferInferencer(setup['cfg_path'],
                                              setup['ckpt'], device='cpu',
                                              show_progress=False)
    out_dir = str(tmp_path / 'out')
    ref = str(tmp_path / 'clothes.png')
    cv2.imwrite(ref, setup['ref_img'][..., ::-1])
    res = inferencer(setup['src'], ref, src_smpl=setup['src_theta'],
                     ref_smpl=setup['ref_theta'][:1], out_dir=out_dir,
                     side_by_side=True, front_warp=True,
                     return_frames=True)
    assert res['num_frames'] == 1
    assert count_frames(res['video']) == (1, (SIZE, SIZE))
    assert count_frames(res['side_by_side']) == (1, (SIZE, 3 * SIZE))
    assert cv2.imread(res['image']).shape == (SIZE, SIZE, 3)
    # with the front warp the kept part (head) shows the source's own
    # pixels: the target mesh is the source's
    head = inferencer.faces_of_parts(['head'])
    state = inferencer.prepare_sources(setup['src'], setup['src_theta'])
    ndc, _ = inferencer.project(state.theta)
    face_idx = inferencer.rasterize(ndc).face_idx[0]
    region = (face_idx >= 0) & head[face_idx.clamp(min=0)]
    assert region.sum() > 3
    diff = np.abs(res['frames'][0].astype(int) - setup['src_img'].astype(int))
    assert diff[region.numpy()].max() <= 2
    # a video reference gives one frame per reference frame
    res = inferencer(setup['src'], setup['ref_video'],
                     src_smpl=setup['src_theta'], ref_smpl=setup['ref_pkl'],
                     batch_size=5, keep_parts=['head', 'left_arm'])
    assert len(res['frames']) == NUM_REF


def test_appearance_transfer_sums_two_streams(setup, monkeypatch):
    """The target stream fuses the reference (selected parts) and the source
    (kept parts): two flows, the kept faces' pixels only in the source's."""
    inferencer = AppearanceTransferInferencer(setup['model'],
                                              show_progress=False)
    gen = inferencer.model.generator
    seen = {}
    decode = gen.decode_targets

    def spy(tsf_inputs, flows, cache, bg=None):
        seen['flows'] = flows
        seen['num_sources'] = cache['num_sources']
        return decode(tsf_inputs, flows, cache, bg)

    monkeypatch.setattr(gen, 'decode_targets', spy)
    inferencer(setup['src'], setup['ref_img'], src_smpl=setup['src_theta'],
               ref_smpl=setup['ref_theta'][:1])
    flows = seen['flows']
    assert flows.shape == (1, 2, SIZE, SIZE, 2) and seen['num_sources'] == 2
    valid = (flows.abs() <= 1).all(-1)[0]  # (2, H, W)
    assert valid[0].any() and valid[1].any()
    assert not (valid[0] & valid[1]).any()  # disjoint regions


# --------------------------------------------------------------- novel view
def test_novel_view_end_to_end(setup, tmp_path):
    inferencer = NovelViewInferencer(setup['cfg_path'], setup['ckpt'],
                                     device='cpu', show_progress=False)
    res = inferencer(setup['src'], setup['src_theta'],
                     out_dir=str(tmp_path), num_views=6, side_by_side=True,
                     batch_size=4, t_pose=True)
    assert count_frames(res['video']) == (6, (SIZE, SIZE))
    assert count_frames(res['side_by_side']) == (6, (SIZE, 3 * SIZE))
    np.testing.assert_allclose(res['views'][:, 1], [0, 60, 120, 180, 240,
                                                    300])
    # the identity view warps the source onto itself
    state = inferencer.prepare_sources(setup['src'], setup['src_theta'])
    enc = inferencer.encode_sources(state)
    ndc, _ = inferencer.project(state.theta)
    out = inferencer.decode(enc, ndc)
    body = out['fragments'].face_idx[0] >= 0
    torch.testing.assert_close(out['warped'][0][:, body],
                               state.imgs[0][:, body], atol=1e-4, rtol=0)
    one = inferencer(setup['src'], setup['src_theta'], views=[[0, 90, 0]],
                     out_dir=str(tmp_path / 'one'))
    assert one['num_frames'] == 1 and osp.isfile(one['image'])


def test_registered_inferencers(setup):
    for name in ('MotionImitationInferencer', 'motion_imitation',
                 'AppearanceTransferInferencer', 'appearance_transfer',
                 'NovelViewInferencer', 'novel_view'):
        assert INFERENCERS.get(name) is not None, name
    inferencer = INFERENCERS.build(
        dict(type='NovelViewInferencer', model=setup['cfg_path'],
             weights=setup['ckpt'], device='cpu', show_progress=False))
    assert isinstance(inferencer, NovelViewInferencer)
