# The ICCV release's Liquid Warping GAN networks, full width (256 px).
# Converted release weights load into these exactly
# (tools/model_converters/convert_lwgan_generator.py,
#  tools/model_converters/convert_lwgan_discriminator.py).
#
# generator: 97,452,736 parameters (G_BG 31,445,184 + G_SID 33,003,776 +
# G_TSF 33,003,776; the LWB itself has none). The fusion runs grid_sample
# with align_corners=True as the released weights expect; set
# align_corners=False (here and in the model) for newly trained models.
generator = dict(
    type='LWBGenerator',
    # G_BG: masked source RGB + mask (4) -> background RGB
    bg_net=dict(
        type='ResNetGenerator',
        in_channels=4,
        out_channels=3,
        base_channels=64,
        num_downs=3,
        num_blocks=6),
    # G_SID: source RGB with the background removed + source cond (6)
    src_net=dict(
        type='ResUnetGenerator',
        in_channels=6,
        out_channels=3,
        base_channels=64,
        num_downs=3,
        num_blocks=6),
    # G_TSF: warped source I_syn + target cond (6)
    tsf_net=dict(
        type='ResUnetGenerator',
        in_channels=6,
        out_channels=3,
        base_channels=64,
        num_downs=3,
        num_blocks=6),
    # fused after encoder stages 1-3 and each residual block (9 points)
    fusion=dict(type='LiquidWarpingBlock', align_corners=True))

# Conditional PatchGAN on [image, target cond]: 6,962,625 parameters,
# a 14x14 score map for 256x256 inputs, no sigmoid (LSGAN).
discriminator = dict(
    type='PatchDiscriminator', in_channels=6, base_channels=64, num_layers=4)
