# Copyright (c) mmlwgan contributors. All rights reserved.
"""Generators: G_BG / G_SID / G_TSF streams, the Liquid Warping Block
generator (LWB) and its attention variant, the W_C / W_T / W_F baselines,
and the optimised inference copy of G_TSF (FastTSF)."""
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
