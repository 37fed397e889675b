# Copyright (c) mmlwgan contributors. All rights reserved.
"""The networks and the model, in the order data flows: body (SMPL, HMR,
cameras) -> renderers (rasterizer, condition maps) -> flows (transformation
flow, masks, composition) -> generators (G_BG / G_SID / G_TSF, LWB,
AttLWB) and discriminators -> losses -> editors (LiquidWarpingGAN, which
owns the geometry path); converters load the release's checkpoints."""
from .backbones import *  # noqa: F401,F403
from .body import *  # noqa: F401,F403
from .data_preprocessors import *  # noqa: F401,F403
from .discriminators import *  # noqa: F401,F403
from .editors import *  # noqa: F401,F403
from .flows import *  # noqa: F401,F403
from .generators import *  # noqa: F401,F403
from .losses import *  # noqa: F401,F403
from .renderers import *  # noqa: F401,F403
