# Copyright (c) mmlwgan contributors. All rights reserved.
"""Reading the inferencers' inputs, with one clear error per bad input.

* Source images: a file, a folder of images (several sources, e.g. front +
  back), an (H, W, 3) / (S, H, W, 3) uint8 RGB array or a list of those.
* References: an image, a folder of images, a video, a SMPL sequence file
  (the iPER ``pose_shape.pkl`` layout, ``.npz`` with the same keys, or an
  (N, 85) ``.npy``), an (N, 85) theta array, or RGB arrays. Frames are read
  lazily (:meth:`ReferenceSource.frames` is a generator), so a long video is
  never held in memory.
* SMPL parameters: theta ``(85,)`` / ``(N, 85)`` (camera ``[s, tx, ty]`` +
  pose 72 + shape 10) given as arrays, dicts with ``cams`` / ``pose`` /
  ``shape`` or files; validated for keys, shapes, finiteness and frame
  counts.

Every problem raises :class:`InferenceInputError` (a ``ValueError``,
defined with :class:`NoPersonError` in :mod:`mmlwgan.utils.errors`) whose
message names the input and what is wrong with it.
"""
import os
import os.path as osp
from typing import (Any, Dict, Iterator, List, Optional, Sequence, Tuple,
                    Union)

import cv2
import numpy as np

from mmlwgan.datasets.video_io import (IMG_EXTENSIONS, VIDEO_EXTENSIONS,
                                       iter_video_frames, list_frames)
from mmlwgan.utils.errors import InferenceInputError, NoPersonError
from mmlwgan.utils.safe_pickle import SMPL_SEQUENCE, safe_load

__all__ = [
    'InferenceInputError', 'NoPersonError', 'IMAGE_EXTS', 'VIDEO_EXTS',
    'SMPL_EXTS', 'read_image', 'list_image_files', 'load_source_images',
    'resize_image', 'load_smpl', 'load_smpl_sequence', 'ReferenceSource',
    'open_reference', 'iter_chunks'
]

#: mmlwgan's image / video extensions (:mod:`mmlwgan.datasets.video_io`)
IMAGE_EXTS = IMG_EXTENSIONS
VIDEO_EXTS = VIDEO_EXTENSIONS
SMPL_EXTS = ('.pkl', '.pickle', '.npz', '.npy')

THETA_DIM = 85
NUM_BETAS = 10


# ----------------------------------------------------------------------
# images
# ----------------------------------------------------------------------
def _check_array_image(img: np.ndarray, what: str) -> np.ndarray:
    if not isinstance(img, np.ndarray):
        raise InferenceInputError(
            f'{what}: expected an (H, W, 3) uint8 RGB array, got '
            f'{type(img).__name__}')
    if img.ndim == 2:
        img = np.repeat(img[..., None], 3, axis=2)
    if img.ndim != 3 or img.shape[2] not in (3, 4):
        raise InferenceInputError(
            f'{what}: expected an (H, W, 3) RGB array, got shape '
            f'{img.shape}')
    if img.shape[0] == 0 or img.shape[1] == 0:
        raise InferenceInputError(f'{what} is empty (shape {img.shape})')
    if img.dtype != np.uint8:
        if np.issubdtype(img.dtype, np.floating) and img.size and \
                np.nanmax(img) <= 1.0 and np.nanmin(img) >= 0.0:
            img = (img * 255 + 0.5).astype(np.uint8)
        else:
            raise InferenceInputError(
                f'{what}: expected a uint8 RGB array (or floats in [0, 1]),'
                f' got {img.dtype}')
    return np.ascontiguousarray(img[..., :3])


def _check_not_truncated(path: str, what: str) -> None:
    """Refuse an image file that ends before its image data does.

    OpenCV decodes a truncated JPEG with a libjpeg warning on stderr (that
    Python cannot catch) and grey where the data is missing; Pillow's
    decoder reports the truncation. JPEGs are decoded at 1/8 scale (the
    whole entropy-coded stream is still read), so the check is cheap. Files
    Pillow cannot open are left to OpenCV.
    """
    try:
        import warnings

        from PIL import Image
    except ImportError:  # pragma: no cover - Pillow comes with torchvision
        return
    try:
        with warnings.catch_warnings():
            warnings.simplefilter('ignore')
            with Image.open(path) as im:
                if im.format == 'JPEG':
                    im.draft('RGB', (max(1, im.width // 8),
                                     max(1, im.height // 8)))
                im.load()
    except OSError as e:
        if 'truncated' in str(e).lower():
            raise InferenceInputError(
                f'{what} {path!r} is truncated: the file ends before its '
                'image data does (an interrupted download or copy?)'
            ) from None
    except Exception:  # noqa: BLE001 - anything else: OpenCV decides
        pass


def read_image(src: Union[str, np.ndarray], what: str = 'image') -> np.ndarray:
    """Read one image as an (H, W, 3) uint8 RGB array.

    Args:
        src (str | np.ndarray): a file path or an RGB array.
        what (str): name of the input in error messages.

    Raises:
        InferenceInputError: missing, empty, truncated or undecodable file,
            or a bad array.
    """
    if isinstance(src, np.ndarray):
        return _check_array_image(src, what)
    path = os.fspath(src)
    if not osp.exists(path):
        raise InferenceInputError(f'{what} {path!r} does not exist')
    if osp.isdir(path):
        raise InferenceInputError(f'{what} {path!r} is a folder, expected '
                                  'an image file')
    if osp.getsize(path) == 0:
        raise InferenceInputError(f'{what} {path!r} is empty (0 bytes)')
    _check_not_truncated(path, what)
    img = cv2.imread(path, cv2.IMREAD_COLOR)
    if img is None or img.size == 0:
        raise InferenceInputError(
            f'{what} {path!r} cannot be read: not an image OpenCV can decode'
            ' (corrupt or unsupported format)')
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


def list_image_files(folder: str, what: str = 'image folder') -> List[str]:
    """The image files of a folder in natural order (``2.jpg`` before
    ``10.jpg``, :func:`~mmlwgan.datasets.video_io.list_frames`); error if
    there is none."""
    if not osp.isdir(folder):
        raise InferenceInputError(f'{what} {folder!r} is not a folder')
    files = [osp.join(folder, f) for f in list_frames(folder)]
    if not files:
        raise InferenceInputError(
            f'{what} {folder!r} holds no image ({", ".join(IMAGE_EXTS)})')
    return files


def _stem(path: str) -> str:
    return osp.splitext(osp.basename(osp.normpath(path)))[0]


def load_source_images(src: Any, what: str = 'source image'
                       ) -> Tuple[List[np.ndarray], str]:
    """Read the source image(s).

    Args:
        src: an image path, a folder (every image in it, sorted by name: the
            first is the main source), an (H, W, 3) or (S, H, W, 3) array,
            or a list of paths / arrays.
        what (str): name of the input in error messages.

    Returns:
        tuple: list of (H, W, 3) uint8 RGB images, and a name for outputs.
    """
    if src is None:
        raise InferenceInputError(f'no {what} given')
    if isinstance(src, np.ndarray):
        if src.ndim == 4:
            if src.shape[0] == 0:
                raise InferenceInputError(f'{what} array holds no image')
            return [_check_array_image(x, f'{what} {i}')
                    for i, x in enumerate(src)], 'source'
        return [_check_array_image(src, what)], 'source'
    if isinstance(src, (list, tuple)):
        if not src:
            raise InferenceInputError(f'{what}: empty list')
        imgs = [read_image(s, f'{what} {i}' if isinstance(s, np.ndarray)
                           else what) for i, s in enumerate(src)]
        name = _stem(src[0]) if isinstance(src[0], (str, os.PathLike)) \
            else 'source'
        return imgs, name
    path = os.fspath(src)
    if osp.isdir(path):
        files = list_image_files(path, f'{what} folder')
        return [read_image(f, what) for f in files], _stem(path)
    return [read_image(path, what)], _stem(path)


def resize_image(img: np.ndarray, size: Tuple[int, int]) -> np.ndarray:
    """Resize an RGB image to ``size = (H, W)`` (the release resizes the
    whole frame to the model's square size, without keeping the aspect)."""
    h, w = size
    if img.shape[:2] == (h, w):
        return img
    shrink = img.shape[0] > h or img.shape[1] > w
    return cv2.resize(img, (w, h), interpolation=cv2.INTER_AREA
                      if shrink else cv2.INTER_LINEAR)


# ----------------------------------------------------------------------
# SMPL parameters
# ----------------------------------------------------------------------
def _load_pickle(path: str) -> Any:
    """A SMPL parameter pickle through the allow-list of
    :data:`~mmlwgan.utils.safe_pickle.SMPL_SEQUENCE` (dicts and numpy arrays
    only; anything else is refused instead of being executed)."""
    return safe_load(path, SMPL_SEQUENCE, encoding='latin1')


_EXPECTED = ("a dict with 'cams' (N, 3), 'pose' (N, 72) and 'shape' "
             "(N, 10) (the iPER pose_shape.pkl layout) or one (N, 85) theta "
             'array (camera [s, tx, ty] + pose 72 + shape 10)')


def _as_array(value: Any, key: str, what: str) -> np.ndarray:
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as e:
        raise InferenceInputError(
            f'{what}: {key!r} is not a numeric array ({e})') from None
    return arr


def _theta_from_dict(data: Dict, what: str, num_betas: int) -> np.ndarray:
    keys = list(data.keys())
    for key in ('thetas', 'theta', 'smpls', 'smpl'):
        if key in data and not isinstance(data[key], dict):
            return _theta_from_array(_as_array(data[key], key, what), what,
                                     num_betas)
    aliases = dict(cams=('cams', 'cam', 'camera'), pose=('pose', 'poses'),
                   shape=('shape', 'shapes', 'betas'))
    found = {}
    missing = []
    for name, names in aliases.items():
        key = next((k for k in names if k in data), None)
        if key is None:
            missing.append(name)
        else:
            found[name] = _as_array(data[key], key, what)
    if missing:
        raise InferenceInputError(
            f'{what}: missing key(s) {missing}; found keys '
            f'{sorted(map(str, keys))}; expected {_EXPECTED}')
    cams, pose, shape = found['cams'], found['pose'], found['shape']
    if cams.ndim == 1:
        cams = cams[None]
    if pose.ndim == 3 and pose.shape[1:] == (24, 3):
        pose = pose.reshape(pose.shape[0], 72)
    if pose.ndim == 1:
        pose = pose[None]
    if cams.ndim != 2 or cams.shape[1] != 3:
        raise InferenceInputError(
            f"{what}: 'cams' should be (N, 3), got {cams.shape}")
    if pose.ndim != 2 or pose.shape[1] != 72:
        raise InferenceInputError(
            f"{what}: 'pose' should be (N, 72) axis-angle, got {pose.shape}")
    if shape.ndim == 1:
        shape = shape[None]
    if shape.ndim != 2 or shape.shape[1] < num_betas:
        raise InferenceInputError(
            f"{what}: 'shape' should be (N, {num_betas}), got {shape.shape}")
    shape = shape[:, :num_betas]
    n = pose.shape[0]
    if cams.shape[0] != n:
        raise InferenceInputError(
            f"{what}: 'cams' has {cams.shape[0]} frames but 'pose' has {n}")
    if shape.shape[0] == 1 and n > 1:
        shape = np.repeat(shape, n, axis=0)
    if shape.shape[0] != n:
        raise InferenceInputError(
            f"{what}: 'shape' has {shape.shape[0]} frames but 'pose' has {n}")
    return np.concatenate([cams, pose, shape], axis=1)


def _theta_from_array(arr: np.ndarray, what: str,
                      num_betas: int) -> np.ndarray:
    dim = 75 + num_betas
    if arr.ndim == 1:
        arr = arr[None]
    if arr.ndim != 2 or arr.shape[1] != dim:
        raise InferenceInputError(
            f'{what}: expected theta of shape (N, {dim}) (camera 3 + pose '
            f'72 + shape {num_betas}), got {arr.shape}; or {_EXPECTED}')
    return arr


def load_smpl(src: Any, what: str = 'SMPL parameters',
              num_betas: int = NUM_BETAS) -> np.ndarray:
    """SMPL parameters from an array, tensor, dict or file, validated.

    Args:
        src: (85,) or (N, 85) theta array / tensor; a dict with ``cams``,
            ``pose``, ``shape`` (or ``thetas``); or a ``.pkl`` / ``.npz`` /
            ``.npy`` file holding one of those.
        what (str): name of the input in error messages.
        num_betas (int): shape coefficients. Defaults to 10.

    Returns:
        np.ndarray: (N, 75 + num_betas) float32 thetas, N >= 1.

    Raises:
        InferenceInputError: missing file, unreadable file, wrong keys or
            shapes, no frame, non-finite values or a non-positive camera
            scale.
    """
    if src is None:
        raise InferenceInputError(f'no {what} given')
    if hasattr(src, 'detach'):  # torch tensor
        src = src.detach().cpu().numpy()
    if isinstance(src, (str, os.PathLike)):
        path = os.fspath(src)
        what = f'{what} file {path!r}'
        if not osp.isfile(path):
            raise InferenceInputError(f'{what} does not exist')
        if osp.getsize(path) == 0:
            raise InferenceInputError(f'{what} is empty (0 bytes)')
        ext = osp.splitext(path)[1].lower()
        try:
            if ext in ('.npz', '.npy'):
                data = np.load(path, allow_pickle=False)
                if isinstance(data, np.lib.npyio.NpzFile):
                    data = {k: data[k] for k in data.files}
            elif ext in ('.pkl', '.pickle'):
                data = _load_pickle(path)
            else:
                raise InferenceInputError(
                    f'{what}: unknown extension {ext!r}; expected one of '
                    f'{SMPL_EXTS}')
        except InferenceInputError:
            raise
        except Exception as e:  # noqa: BLE001 - any decoding failure
            raise InferenceInputError(
                f'{what} cannot be read ({type(e).__name__}: {e})') from None
        src = data
    if isinstance(src, dict):
        theta = _theta_from_dict(src, what, num_betas)
    else:
        theta = _theta_from_array(_as_array(src, 'theta', what), what,
                                  num_betas)
    if theta.shape[0] == 0:
        raise InferenceInputError(f'{what} holds no frame')
    if not np.all(np.isfinite(theta)):
        bad = int(np.argwhere(~np.isfinite(theta))[0, 0])
        raise InferenceInputError(
            f'{what}: non-finite values (NaN / inf), first in frame {bad}')
    if np.any(theta[:, 0] <= 0):
        bad = int(np.argmax(theta[:, 0] <= 0))
        raise InferenceInputError(
            f'{what}: camera scale s must be > 0, frame {bad} has '
            f's={theta[bad, 0]:g}')
    return theta.astype(np.float32)


def load_smpl_sequence(src: Any, num_frames: Optional[int] = None,
                       what: str = 'SMPL sequence',
                       num_betas: int = NUM_BETAS,
                       frames_of: str = 'the reference') -> np.ndarray:
    """:func:`load_smpl` plus a frame-count check.

    Args:
        num_frames (int, optional): frames the sequence must have (e.g. the
            reference video's).
        frames_of (str): what ``num_frames`` counts, for the message.
    """
    theta = load_smpl(src, what, num_betas)
    if num_frames is not None and theta.shape[0] != num_frames:
        name = f'{what} file {os.fspath(src)!r}' if isinstance(
            src, (str, os.PathLike)) else what
        raise InferenceInputError(
            f'frame count mismatch: {name} has {theta.shape[0]} frames but '
            f'{frames_of} has {num_frames}; give one SMPL entry per frame')
    return theta


# ----------------------------------------------------------------------
# references
# ----------------------------------------------------------------------
def _open_video(path: str, what: str) -> cv2.VideoCapture:
    cap = cv2.VideoCapture(path)
    if not cap.isOpened():
        cap.release()
        raise InferenceInputError(
            f'{what} {path!r} cannot be opened: not a video OpenCV can '
            'decode (corrupt, unsupported format, or no frame at all)')
    return cap


class ReferenceSource:
    """A validated reference: frames read lazily and/or SMPL parameters.

    Attributes:
        kind (str): ``'image'``, ``'images'``, ``'video'``, ``'arrays'`` or
            ``'smpl'`` (parameters only, no frames).
        name (str): a name for output files.
        num_frames (int): number of frames.
        fps (float, optional): the video's frame rate.
        thetas (np.ndarray, optional): (N, 85) SMPL parameters when given.
    """

    def __init__(self, kind: str, name: str, num_frames: int,
                 paths: Optional[List[str]] = None,
                 video: Optional[str] = None,
                 arrays: Optional[np.ndarray] = None,
                 thetas: Optional[np.ndarray] = None,
                 fps: Optional[float] = None,
                 what: str = 'reference') -> None:
        self.kind = kind
        self.name = name
        self.num_frames = num_frames
        self.paths = paths
        self.video = video
        self.arrays = arrays
        self.thetas = thetas
        self.fps = fps
        self.what = what

    def __len__(self) -> int:
        return self.num_frames

    @property
    def has_frames(self) -> bool:
        return self.kind != 'smpl'

    def frames(self) -> Iterator[np.ndarray]:
        """Yield the (H, W, 3) uint8 RGB frames one at a time.

        Raises:
            InferenceInputError: a frame cannot be read, or a video ends
                before its announced number of frames.
        """
        if self.kind == 'smpl':
            raise InferenceInputError(
                f'{self.what} is a SMPL sequence and has no image frames')
        if self.kind in ('image', 'images'):
            for p in self.paths:
                yield read_image(p, f'{self.what} frame')
            return
        if self.kind == 'arrays':
            for i, a in enumerate(self.arrays):
                yield _check_array_image(a, f'{self.what} frame {i}')
            return
        count = 0
        try:
            for frame in iter_video_frames(self.video, self.num_frames):
                count += 1
                yield frame
        except OSError as e:  # gone or unreadable since it was opened
            raise InferenceInputError(
                f'{self.what} video {self.video!r} cannot be read ({e})'
            ) from None
        if count < self.num_frames:
            raise InferenceInputError(
                f'{self.what} video {self.video!r} ended after {count} of '
                f'its {self.num_frames} frames (truncated or corrupt)')


def _video_info(path: str, what: str) -> Tuple[int, Optional[float]]:
    if osp.getsize(path) == 0:
        raise InferenceInputError(f'{what} video {path!r} is empty (0 bytes)')
    cap = _open_video(path, f'{what} video')
    try:
        fps = cap.get(cv2.CAP_PROP_FPS) or None
        announced = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0)
        ok, frame = cap.read()
        if not ok or frame is None:
            raise InferenceInputError(
                f'{what} video {path!r} has no readable frame')
        if announced > 0:
            return announced, fps
        count = 1  # container without a frame count: count by grabbing
        while cap.grab():
            count += 1
        return count, fps
    finally:
        cap.release()


def open_reference(ref: Any, ref_smpl: Any = None,
                   what: str = 'reference',
                   num_betas: int = NUM_BETAS) -> ReferenceSource:
    """Validate a reference and wrap it in a :class:`ReferenceSource`.

    Args:
        ref: an image file, a folder of images, a video file, a SMPL
            sequence file (``.pkl`` / ``.npz`` / ``.npy``), an (N, 85) theta
            array, an (H, W, 3) / (N, H, W, 3) uint8 RGB array, or a list of
            image paths / arrays.
        ref_smpl: optional SMPL parameters of the frames (file, array or
            dict); their frame count must equal the reference's.
        what (str): name of the input in error messages.

    Returns:
        ReferenceSource: nothing but the first frame (or a frame count) has
        been read.
    """
    if ref is None:
        raise InferenceInputError(f'no {what} given')
    if hasattr(ref, 'detach'):
        ref = ref.detach().cpu().numpy()
    src: ReferenceSource
    if isinstance(ref, np.ndarray):
        if ref.dtype != np.uint8 and ref.ndim <= 2:
            thetas = load_smpl(ref, f'{what} SMPL array', num_betas)
            src = ReferenceSource('smpl', 'smpl', len(thetas), thetas=thetas,
                                  what=what)
        else:
            arrays = ref if ref.ndim == 4 else ref[None]
            if len(arrays) == 0:
                raise InferenceInputError(f'{what} array holds no frame')
            _check_array_image(arrays[0], f'{what} frame 0')
            src = ReferenceSource('arrays', 'reference', len(arrays),
                                  arrays=arrays, what=what)
    elif isinstance(ref, dict):
        thetas = load_smpl(ref, f'{what} SMPL', num_betas)
        src = ReferenceSource('smpl', 'smpl', len(thetas), thetas=thetas,
                              what=what)
    elif isinstance(ref, (list, tuple)):
        if not ref:
            raise InferenceInputError(f'{what}: empty list')
        if all(isinstance(r, np.ndarray) for r in ref):
            _check_array_image(ref[0], f'{what} frame 0')
            src = ReferenceSource('arrays', 'reference', len(ref),
                                  arrays=list(ref), what=what)
        else:
            paths = [os.fspath(r) for r in ref]
            for p in paths:
                if not osp.isfile(p):
                    raise InferenceInputError(
                        f'{what} image {p!r} does not exist')
            read_image(paths[0], f'{what} image')
            src = ReferenceSource('images', _stem(paths[0]), len(paths),
                                  paths=paths, what=what)
    else:
        path = os.fspath(ref)
        ext = osp.splitext(path)[1].lower()
        if not osp.exists(path):
            raise InferenceInputError(f'{what} {path!r} does not exist')
        if osp.isdir(path):
            paths = list_image_files(path, f'{what} folder')
            read_image(paths[0], f'{what} image')
            src = ReferenceSource('images', _stem(path), len(paths),
                                  paths=paths, what=what)
        elif ext in SMPL_EXTS:
            thetas = load_smpl(path, f'{what} SMPL', num_betas)
            src = ReferenceSource('smpl', _stem(path), len(thetas),
                                  thetas=thetas, what=what)
        elif ext in VIDEO_EXTS:
            n, fps = _video_info(path, what)
            src = ReferenceSource('video', _stem(path), n, video=path,
                                  fps=fps, what=what)
        elif ext in IMAGE_EXTS:
            read_image(path, f'{what} image')
            src = ReferenceSource('image', _stem(path), 1, paths=[path],
                                  what=what)
        else:
            raise InferenceInputError(
                f'{what} {path!r}: unknown file type {ext!r}; give an image '
                f'({", ".join(IMAGE_EXTS)}), a folder of images, a video '
                f'({", ".join(VIDEO_EXTS)}) or a SMPL file '
                f'({", ".join(SMPL_EXTS)})')
    if ref_smpl is not None:
        if src.kind == 'smpl':
            raise InferenceInputError(
                f'{what} is already a SMPL sequence: do not also give '
                f'{what}_smpl')
        desc = {'video': f'the {what} video {src.video!r}',
                'images': f'the {what} ({src.num_frames} images)',
                'image': f'the {what} image'}.get(src.kind, f'the {what}')
        src.thetas = load_smpl_sequence(ref_smpl, src.num_frames,
                                        f'{what} SMPL', num_betas, desc)
    return src


def iter_chunks(items: Sequence, size: int) -> Iterator[Sequence]:
    """Consecutive slices of at most ``size`` items."""
    for start in range(0, len(items), size):
        yield items[start:start + size]
