# Copyright (c) mmlwgan contributors. All rights reserved.
from .resnet_v2 import PreActBottleneck, ResNetV2

__all__ = ['ResNetV2', 'PreActBottleneck']
