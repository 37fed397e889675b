# Copyright (c) mmlwgan contributors. All rights reserved.
"""End-to-end test of the web app in a real browser.

The app (``demo/web_app.py``, the bundled model) runs in a subprocess on a
free 127.0.0.1 port; headless Chromium (Debian's ``chromium`` and its
``chromedriver``, installed by ``make test``'s install stage; nothing is
downloaded) uploads the bundled example, runs motion imitation, waits for
the video element and checks the served file; a broken photo must show the
CLI's one-line error. ``MMLWGAN_WEB_SCREENSHOT=docs/web_app.png`` also saves
a screenshot of the finished page there.
"""
import os
import os.path as osp
import shutil
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
DATA = osp.join(ROOT, 'demo', 'data')
CHROMIUM = shutil.which('chromium') or shutil.which('chromium-browser')
CHROMEDRIVER = shutil.which('chromedriver')

try:
    import gradio  # noqa: F401
    import selenium  # noqa: F401
    _MISSING = None
except ImportError as e:  # pragma: no cover - make test installs both
    _MISSING = f'{e.name} is not installed (`make install-full` installs it)'
if _MISSING is None and not (CHROMIUM and CHROMEDRIVER):
    _MISSING = ('Debian packages chromium / chromium-driver are not installed '
                '(`make install-full` installs them)')
pytestmark = pytest.mark.skipif(_MISSING is not None, reason=str(_MISSING))

NUM_FRAMES = 60  # demo/data/motion.pkl


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


def _wait(what, fn, timeout, interval=0.2):
    """Poll ``fn`` until it returns a truthy value; fail after ``timeout``
    seconds."""
    end = time.monotonic() + timeout
    while True:
        value = fn()
        if value:
            return value
        if time.monotonic() > end:
            raise AssertionError(f'timed out after {timeout}s waiting for '
                                 f'{what}')
        time.sleep(interval)


@pytest.fixture(scope='module')
def app_url(tmp_path_factory, synthetic_smpl_dir):
    """The web app on a free local port, killed at the end."""
    port = _free_port()
    out = tmp_path_factory.mktemp('web')
    log_path = out / 'app.log'
    env = dict(os.environ, GRADIO_ANALYTICS_ENABLED='False',
               OMP_NUM_THREADS='2', PYTHONUNBUFFERED='1')
    with open(log_path, 'w') as log:
        proc = subprocess.Popen(
            [sys.executable, osp.join(ROOT, 'demo', 'web_app.py'), '--port',
             str(port), '--out-dir', str(out / 'results'), '--cache-dir',
             synthetic_smpl_dir], cwd=ROOT, env=env, stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True)
    url = f'http://127.0.0.1:{port}/'

    def up():
        if proc.poll() is not None:
            raise AssertionError(f'the app exited ({proc.returncode}):\n'
                                 + log_path.read_text())
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                return r.status == 200
        except OSError:
            return False

    try:
        _wait('the app to serve its page', up, timeout=120, interval=0.5)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@pytest.fixture(scope='module')
def browser():
    """Headless Debian Chromium through its chromedriver (Selenium Manager
    kept offline: it must find both binaries as given)."""
    os.environ['SE_OFFLINE'] = 'true'
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ('--headless=new', '--no-sandbox', '--disable-gpu',
                '--disable-dev-shm-usage', '--window-size=1280,1500',
                '--mute-audio', '--autoplay-policy=no-user-gesture-required',
                '--no-first-run', '--disable-extensions'):
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


def _upload(driver, elem_id, path):
    from selenium.webdriver.common.by import By
    field = driver.find_element(By.CSS_SELECTOR,
                                f'#{elem_id} input[type=file]')
    field.send_keys(path)
    name = osp.basename(path)
    # the preview shows the stem and the extension on separate lines
    _wait(f'{name} to be uploaded', lambda: name in driver.find_element(
        By.ID, elem_id).text.replace('\n', ''), 30)


def _status(driver, tab):
    from selenium.webdriver.common.by import By
    box = driver.find_element(By.CSS_SELECTOR, f'#{tab}-status textarea')
    return box.get_attribute('value') or ''


def _open(driver, url):
    from selenium.webdriver.common.by import By
    driver.get(url)
    _wait('the page', lambda: driver.find_elements(
        By.CSS_SELECTOR, '#imitation-src input[type=file]'), 60)


def test_motion_imitation_in_browser(app_url, browser, tmp_path):
    import cv2
    from selenium.webdriver.common.by import By
    _open(browser, app_url)
    _upload(browser, 'imitation-src', osp.join(DATA, 'source.png'))
    _upload(browser, 'imitation-src-smpl', osp.join(DATA, 'source_smpl.pkl'))
    _upload(browser, 'imitation-ref', osp.join(DATA, 'motion.pkl'))
    browser.find_element(By.ID, 'imitation-run').click()
    status = _wait('the run to finish', lambda: (
        s := _status(browser, 'imitation')).startswith(('done', 'error'))
        and s, 90)
    assert status.startswith(f'done: {NUM_FRAMES} frames'), status

    # the result plays in the page: the browser decoded its first frame
    video = _wait('the result video', lambda: browser.find_elements(
        By.CSS_SELECTOR, '#imitation-video video[src]'), 30)[0]
    state = _wait('the video to be decoded', lambda: browser.execute_script(
        'const v = arguments[0]; return v.readyState >= 2 && '
        '[v.videoWidth, v.videoHeight, v.duration];', video), 30)
    assert state[:2] == [64, 64], state
    assert abs(state[2] - NUM_FRAMES / 30.0) < 0.1, state

    # the served file is a video of every frame
    path = tmp_path / 'served.mp4'
    with urllib.request.urlopen(video.get_attribute('src'), timeout=30) as r:
        path.write_bytes(r.read())
    cap = cv2.VideoCapture(str(path))
    frames = []
    while True:
        ok, frame = cap.read()
        if not ok:
            break
        frames.append(frame)
    cap.release()
    assert len(frames) == NUM_FRAMES
    assert frames[0].shape == (64, 64, 3)
    assert browser.find_elements(By.CSS_SELECTOR,
                                 '#imitation-sbs-video video[src]')

    shot = os.environ.get('MMLWGAN_WEB_SCREENSHOT')
    if shot:
        browser.execute_script('arguments[0].pause(); '
                               'arguments[0].currentTime = 1.0;', video)
        time.sleep(1.0)
        shot = osp.join(ROOT, shot)
        os.makedirs(osp.dirname(shot), exist_ok=True)
        assert browser.save_screenshot(shot), shot


def test_bad_input_shows_cli_error(app_url, browser, tmp_path):
    from selenium.webdriver.common.by import By

    from mmlwgan.apis.inferencers.inputs import load_source_images
    from mmlwgan.apis.web import error_line
    broken = tmp_path / 'broken.png'
    broken.write_bytes(b'this is not an image')
    with pytest.raises(Exception) as info:  # what the CLI would print
        load_source_images(str(broken))
    expected = error_line(info.value)
    _open(browser, app_url)
    _upload(browser, 'imitation-src', str(broken))
    _upload(browser, 'imitation-ref', osp.join(DATA, 'motion.pkl'))
    browser.find_element(By.ID, 'imitation-run').click()
    status = _wait('the error', lambda: (
        s := _status(browser, 'imitation')).startswith('error') and s, 60)
    assert '\n' not in status
    # same line, but for where the upload was stored
    head, tail = expected.split(str(broken))
    assert status.startswith(head) and status.endswith(tail), (status,
                                                               expected)
    assert 'broken.png' in status
    assert not browser.find_elements(By.CSS_SELECTOR,
                                     '#imitation-video video[src]')
