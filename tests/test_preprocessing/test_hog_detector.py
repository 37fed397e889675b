# Copyright (c) mmlwgan contributors. All rights reserved.
"""The zero-download person detector (OpenCV's HOG people detector) on the
project's rendered synthetic persons and on pictures without a person."""
import os.path as osp

import cv2
import numpy as np
import pytest
import torch

from mmlwgan.preprocessing import HOGPersonDetector
from mmlwgan.synthetic.motions import make_motion
from mmlwgan.synthetic.no_person import NO_PERSON_KINDS, no_person_image

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


@pytest.fixture(scope='module')
def det():
    return HOGPersonDetector()


def demo_source():
    img = cv2.imread(osp.join(ROOT, 'demo', 'data', 'source.png'))
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def rendered_people(smpl_path):
    """Patterned synthetic persons (rest / walk / wave, 32-128 px) and their
    body silhouettes."""
    from mmlwgan.synthetic.batch import render_patterned_person
    from mmlwgan.visualization import BodyRenderer
    out = []
    for size in (32, 64, 128):
        renderer = BodyRenderer(dict(type='SMPL', model_path=smpl_path),
                                image_size=size)
        for k, motion in enumerate(('rest', 'walk', 'wave')):
            pose = make_motion(motion, 20)[7:8]
            img, theta = render_patterned_person(
                renderer, pose, torch.zeros(1, 10), seed=k)
            with torch.no_grad():
                ndc = renderer.project(
                    renderer.posed_vertices(torch.from_numpy(pose),
                                            torch.zeros(1, 10)),
                    torch.from_numpy(theta[:, :3]))
                mask = (renderer.rasterize(ndc).face_idx[0] >= 0).numpy()
            out.append((f'{motion}_{size}', img[0], mask))
    return out


def silhouette_box(mask):
    ys, xs = np.nonzero(mask)
    return np.array([xs.min(), ys.min(), xs.max(), ys.max()], np.float32)


def iou(a, b):
    lt = np.maximum(a[:2], b[:2])
    rb = np.minimum(a[2:], b[2:])
    inter = np.prod(np.clip(rb - lt, 0, None))
    area = np.prod(a[2:] - a[:2]) + np.prod(b[2:] - b[:2]) - inter
    return inter / area


def test_finds_the_bundled_demo_person(det):
    img = demo_source()
    boxes, scores = det(img)
    assert boxes.shape[1] == 4 and boxes.dtype == np.float32
    assert len(boxes) >= 1 and scores[0] > 0.5
    assert np.all(np.diff(scores) <= 0)  # best first
    # the box holds the person (feet and head included, roughly)
    x1, y1, x2, y2 = boxes[0]
    assert 40 < (x1 + x2) / 2 < 90 and y1 < 30 and y2 > 100


def test_finds_rendered_synthetic_persons(det, synthetic_smpl_npz):
    for name, img, mask in rendered_people(synthetic_smpl_npz):
        boxes, scores = det(img)
        assert len(boxes), f'no person found in the {name} render'
        # the best box is on the body
        assert iou(boxes[0], silhouette_box(mask)) > 0.4, name


def test_finds_a_synthetic_iper_frame(det, synthetic_smpl_npz):
    from mmlwgan.synthetic.iper_render import SyntheticIPERRenderer
    from mmlwgan.synthetic.iper_spec import (actor_params, make_cloth_spec,
                                             synthetic_background)
    renderer = SyntheticIPERRenderer(synthetic_smpl_npz, 128)
    look = actor_params(0, 1)
    theta = np.zeros((1, 85), np.float32)
    theta[0, 0] = 0.8
    theta[0, 3:75] = make_motion('rest', 1)[0]
    theta[0, 75:] = look['betas']
    frames, _ = renderer.render(theta, look, make_cloth_spec(0, 1, 1),
                                synthetic_background(128, 3))
    assert len(det(frames[0])[0]) >= 1


@pytest.mark.parametrize('kind', sorted(NO_PERSON_KINDS))
def test_no_person_in_textures(det, kind):
    for size in (64, 256, 512):
        for seed in range(2):
            boxes, scores = det(no_person_image(kind, size, seed))
            assert len(boxes) == 0, (kind, size, seed, scores)


def test_no_person_in_grass_at_any_size(det):
    for size in (48, 96, 128, 200, 384, 640):
        assert len(det(no_person_image('grass', size, 5))[0]) == 0, size
    wide = cv2.resize(no_person_image('grass', 256, 1), (455, 256))
    assert len(det(wide)[0]) == 0


def test_scores_and_thresholds(det):
    img = demo_source()
    win = det.windows(img, min_margin=-1.0)
    assert win.shape[1] == 5 and len(win) > len(det(img)[0])
    assert det.score_of(det.hit_threshold) == pytest.approx(0.5)
    assert det.margin_of(0.5) == pytest.approx(det.hit_threshold)
    strict = HOGPersonDetector(score_thr=0.999)
    assert len(strict(img)[0]) == 0
    heights = det.person_heights()
    assert heights[0] == 1.0 and heights[-1] >= 0.5 - 1e-9
    with pytest.raises(ValueError, match='min_height'):
        HOGPersonDetector(min_height=0.8, max_height=0.5)
    with pytest.raises(ValueError, match='uint8'):
        det(img.astype(np.float32))
    # tiny and very wide / tall pictures do not break the search
    for shape in ((8, 8, 3), (16, 300, 3), (300, 16, 3)):
        boxes, scores = det(np.zeros(shape, np.uint8))
        assert boxes.shape == (0, 4) and scores.shape == (0, )


def test_inferencer_detector_from_name():
    from mmlwgan.apis.inferencers import build_person_detector as via_apis
    from mmlwgan.preprocessing import build_person_detector
    assert via_apis is build_person_detector  # one entry point
    detect = build_person_detector('hog')
    box = detect(demo_source())
    assert box.shape == (5, ) and box[4] >= 0.5
    assert 'HOG' in detect.description
    assert detect(no_person_image('grass', 128)) is None
    # an mmdet dict without config and checkpoint: the same default
    assert 'HOG' in build_person_detector(
        dict(config=None, checkpoint=None)).description
    assert build_person_detector('none') is None
    with pytest.raises(ValueError, match='unknown person detector'):
        build_person_detector('yolo')
    # detectors of mmlwgan.preprocessing (boxes, scores) work too
    detect = build_person_detector(HOGPersonDetector())
    assert detect(demo_source()) is not None
