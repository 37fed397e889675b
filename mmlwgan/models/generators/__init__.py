# Copyright (c) mmlwgan contributors. All rights reserved.
from .attlwb import SPADE, AttentionalLWB
from .baselines import (ConcatGenerator, FeatureWarpingGenerator,
                        TextureWarpingGenerator)
from .blocks import (ConvNormReLU, ResidualBlock, conv_norm_relu,
                     release_init_)
from .fast_tsf import FastTSF
from .lwb import (AddLWB, AvgLWB, LiquidWarpingBlock, ProjectedLWB,
                  as_multi_source, warp_sources)
from .lwb_generator import LWBGenerator, broadcast_batch, compose
from .resnet_generator import ResNetGenerator
from .resunet_generator import ResUnetGenerator

__all__ = [
    'SPADE', 'AttentionalLWB', 'ConcatGenerator', 'FeatureWarpingGenerator',
    'TextureWarpingGenerator', 'ConvNormReLU', 'ResidualBlock', 'FastTSF',
    'conv_norm_relu',
    'release_init_', 'AddLWB', 'AvgLWB', 'LiquidWarpingBlock', 'ProjectedLWB',
    'as_multi_source', 'warp_sources', 'LWBGenerator', 'broadcast_batch',
    'compose', 'ResNetGenerator', 'ResUnetGenerator'
]
