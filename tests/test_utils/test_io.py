# Copyright (c) mmlwgan contributors. All rights reserved.
import os

import cv2
import numpy as np
import pytest

from mmlwgan.utils import AtomicVideoWriter, write_image


def test_video_writer_writes_readable_video(tmp_path):
    path = str(tmp_path / 'out' / 'v.mp4')
    frames = [np.full((32, 48, 3), 20 * i, np.uint8) for i in range(5)]
    with AtomicVideoWriter(path, fps=10) as w:
        for f in frames:
            w.write(f)
    cap = cv2.VideoCapture(path)
    n, means = 0, []
    while True:
        ok, fr = cap.read()
        if not ok:
            break
        n += 1
        means.append(fr.mean())
    assert n == 5
    assert np.allclose(means, [20 * i for i in range(5)], atol=3)
    assert os.listdir(tmp_path / 'out') == ['v.mp4']


def test_video_writer_leaves_nothing_on_error(tmp_path):
    path = tmp_path / 'v.mp4'
    with pytest.raises(RuntimeError, match='boom'):
        with AtomicVideoWriter(str(path)) as w:
            w.write(np.zeros((16, 16, 3), np.uint8))
            raise RuntimeError('boom')
    assert os.listdir(tmp_path) == []
    with pytest.raises(ValueError, match='differs'):
        with AtomicVideoWriter(str(path)) as w:
            w.write(np.zeros((16, 16, 3), np.uint8))
            w.write(np.zeros((8, 16, 3), np.uint8))
    with pytest.raises(ValueError, match='no frame'):
        with AtomicVideoWriter(str(path)):
            pass
    assert os.listdir(tmp_path) == []


def test_write_image_round_trip(tmp_path):
    img = np.random.default_rng(0).integers(0, 255, (9, 7, 3), np.uint8)
    path = str(tmp_path / 'a.png')
    write_image(path, img)
    back = cv2.cvtColor(cv2.imread(path), cv2.COLOR_BGR2RGB)
    np.testing.assert_array_equal(back, img)
    with pytest.raises(ValueError, match='uint8'):
        write_image(str(tmp_path / 'b.png'), img.astype(np.float32))
    assert sorted(os.listdir(tmp_path)) == ['a.png']
