# Copyright (c) mmlwgan contributors. All rights reserved.
import mmengine
from mmengine.utils import digit_version

from .version import __version__, version_info

mmengine_minimum_version = '0.10.0'
mmengine_maximum_version = '1.0.0'
mmengine_version = digit_version(mmengine.__version__)
assert (digit_version(mmengine_minimum_version) <= mmengine_version
        < digit_version(mmengine_maximum_version)), (
    f'MMEngine=={mmengine.__version__} is used but incompatible. '
    f'Please install mmengine>={mmengine_minimum_version}, '
    f'<{mmengine_maximum_version} (mmlwgan is tested with 0.10.7).')

try:
    import mmcv
except ImportError:  # mmcv is optional for the geometry core
    mmcv = None
else:
    mmcv_minimum_version = '2.0.0'
    mmcv_maximum_version = '2.2.0'
    mmcv_version = digit_version(mmcv.__version__)
    assert (digit_version(mmcv_minimum_version) <= mmcv_version
            < digit_version(mmcv_maximum_version)), (
        f'MMCV=={mmcv.__version__} is used but incompatible. '
        f'Please install mmcv>={mmcv_minimum_version}, <{mmcv_maximum_version} '
        '(mmlwgan is tested with 2.1.0; run `make install`).')

__all__ = ['__version__', 'version_info']
