# HMR (human mesh recovery) as released with the Liquid Warping GAN:
# pre-activation ResNet-50 ("v2") + 3-iteration theta regressor; frozen.
# Input: 224 x 224 RGB in [-1, 1], person centred. Output: theta (85) per
# iteration = camera [s, tx, ty] + pose (72) + shape (10).
#
# The model uses an HMR when its config has `model.hmr` (the released recipe
# has none: it is given SMPL, or HMR is added as below).
# Weights: tools/model_converters/convert_release.py converts the whole
# release and writes a config with model.hmr filled in. By hand:
#   python tools/model_converters/convert_hmr.py hmr_tf2pt.pth \
#       checkpoints/hmr_tf2pt_mmlwgan.pth \
#       --smpl-out data/smpl/SMPL_NEUTRAL.npz --faces smpl_faces.npy
# then either, in the config,
#   model = dict(hmr=dict(type='HMR',
#                         pretrained='checkpoints/hmr_tf2pt_mmlwgan.pth'))
# (HMR's defaults are the settings below; init_cfg=dict(type='Pretrained',
# checkpoint=...) is the same as pretrained=), or on the command line of
# the demos, with any config:
#   --cfg-options model.hmr.pretrained=checkpoints/hmr_tf2pt_mmlwgan.pth
# (the raw release file is accepted too). Nothing is downloaded; without
# weights the network is random and a warning is logged once.
hmr = dict(
    type='HMR',
    backbone=dict(type='ResNetV2', depth=50),
    # Read from the backbone; set it for other backbones, e.g.
    # backbone=dict(type='mmpose.ResNet', depth=18), feat_dim=512.
    feat_dim=None,
    theta_dim=85,
    hidden_channels=1024,
    num_iters=3,
    dropout=0.5,
    frozen=True,
    pretrained=None,  # placeholder: path of the converted HMR weights
    init_cfg=None)  # or dict(type='Pretrained', checkpoint=PATH)
