# Ablation generators of the paper (W_C, W_T, W_F) and the fusion variants
# of the extension (AttLWB, AddLWB, AvgLWB), full width. Every one has the
# interface of LWBGenerator: forward(bg_inputs, src_inputs, tsf_inputs,
# flows), encode_sources, decode_targets. W_C and W_T have no source stream
# (no src_* outputs: switch the source reconstruction loss off).
# Names starting with '_' are helpers, not models.
_bg_net = dict(
    type='ResNetGenerator',
    in_channels=4,
    out_channels=3,
    base_channels=64,
    num_downs=3,
    num_blocks=6)
_resunet = dict(
    type='ResUnetGenerator',
    in_channels=6,
    out_channels=3,
    base_channels=64,
    num_downs=3,
    num_blocks=6)

# W_C, input concatenation, no warping (64,477,184 parameters; loads the
# released generator_concat_baseline): the target stream sees 2 sources'
# [RGB, cond] + the target cond = 15 channels.
generator_wc = dict(
    type='ConcatGenerator',
    bg_net=_bg_net,
    tsf_net=dict(_resunet, in_channels=15),
    num_sources=2)

# W_T, texture warping only (64,448,960 parameters): the target stream sees
# [I_syn, target cond] and nothing else.
generator_wt = dict(
    type='TextureWarpingGenerator', bg_net=_bg_net, tsf_net=_resunet)

# W_F, feature warping at the early encoder stages only (97,443,328
# parameters): source features are warped and added after encoder stages
# 1-3; the target stream sees only the target cond, as in the release.
generator_wf = dict(
    type='FeatureWarpingGenerator',
    bg_net=_bg_net,
    src_net=_resunet,
    tsf_net=dict(_resunet, in_channels=3),
    fusion=dict(type='LiquidWarpingBlock', align_corners=False),
    use_warped_image=False)

# Attentional LWB (Impersonator++): per-pixel attention over the warped
# sources + SPADE at all 9 fusion points (116,937,920 parameters).
generator_attlwb = dict(
    type='LWBGenerator',
    bg_net=_bg_net,
    src_net=_resunet,
    tsf_net=_resunet,
    fusion=dict(
        type='AttentionalLWB', hidden_channels=128, align_corners=False))

# Sum / mean of the warped sources (iPERCore's AddLWB / AvgLWB), parameter
# free like the LWB (97,452,736 parameters).
generator_addlwb = dict(
    type='LWBGenerator',
    bg_net=_bg_net,
    src_net=_resunet,
    tsf_net=_resunet,
    fusion=dict(type='AddLWB', align_corners=False))
generator_avglwb = dict(
    type='LWBGenerator',
    bg_net=_bg_net,
    src_net=_resunet,
    tsf_net=_resunet,
    fusion=dict(type='AvgLWB', align_corners=False))
