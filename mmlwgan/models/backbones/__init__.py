# Copyright (c) mmlwgan contributors. All rights reserved.
"""Backbones of the pretrained networks (HMR's ResNet-50 v2)."""
from .resnet_v2 import PreActBottleneck, ResNetV2

__all__ = ['ResNetV2', 'PreActBottleneck']
