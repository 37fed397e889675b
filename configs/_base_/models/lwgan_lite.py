# The lite Liquid Warping GAN generator: a narrower target stream.
#
# Per target frame only G_TSF runs (G_BG and G_SID run once per source set,
# see LWBGenerator.encode_sources), so only G_TSF is narrowed: base width 32
# instead of 64, i.e. fusion-point widths 64 / 128 / 256 (the extension's)
# instead of 128 / 256 / 512, same depth (3 stride-2 stages, 6 residual
# blocks). G_BG and G_SID stay full width; a ProjectedLWB (bias-free 1x1
# projection, applied once per source at encoding) brings the 128 / 256 / 512
# source features to the target stream's widths.
#
# G_TSF: 8,262,784 parameters (full: 33,003,776), 27.4 GFLOPs per 256 px
# frame (full: 105.6), 6.9 at 128 px; the nine projections 958,464
# parameters (no per-frame cost). Generator total 73,670,208 parameters.
# Trained from scratch with the LWB recipe (align_corners=False: the model
# takes its grid convention from the fusion blocks).
generator_lite = dict(
    type='LWBGenerator',
    bg_net=dict(
        type='ResNetGenerator',
        in_channels=4,
        out_channels=3,
        base_channels=64,
        num_downs=3,
        num_blocks=6),
    src_net=dict(
        type='ResUnetGenerator',
        in_channels=6,
        out_channels=3,
        base_channels=64,
        num_downs=3,
        num_blocks=6),
    tsf_net=dict(
        type='ResUnetGenerator',
        in_channels=6,
        out_channels=3,
        base_channels=32,
        num_downs=3,
        num_blocks=6),
    fusion=dict(type='ProjectedLWB', align_corners=False))
