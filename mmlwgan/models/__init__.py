# Copyright (c) mmlwgan contributors. All rights reserved.
from .body import *  # noqa: F401,F403
from .flows import *  # noqa: F401,F403
from .renderers import *  # noqa: F401,F403
