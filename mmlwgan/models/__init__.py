# Copyright (c) mmlwgan contributors. All rights reserved.
from .backbones import *  # noqa: F401,F403
from .body import *  # noqa: F401,F403
from .data_preprocessors import *  # noqa: F401,F403
from .discriminators import *  # noqa: F401,F403
from .editors import *  # noqa: F401,F403
from .flows import *  # noqa: F401,F403
from .generators import *  # noqa: F401,F403
from .losses import *  # noqa: F401,F403
from .renderers import *  # noqa: F401,F403
