# HMR (human mesh recovery) as released with the Liquid Warping GAN:
# pre-activation ResNet-50 ("v2") + 3-iteration theta regressor; frozen.
# Input: 224 x 224 RGB in [-1, 1], person centred. Output: theta (85) per
# iteration = camera [s, tx, ty] + pose (72) + shape (10).
#
# Weights: convert the release's hmr_tf2pt.pth once with
#   python tools/model_converters/convert_hmr.py hmr_tf2pt.pth \
#       checkpoints/hmr_tf2pt_mmlwgan.pth --smpl-out data/smpl/SMPL_NEUTRAL.npz
# then, in a config inheriting this one (or with --cfg-options), set
#   hmr = dict(init_cfg=dict(type='Pretrained',
#                            checkpoint='checkpoints/hmr_tf2pt_mmlwgan.pth'))
# (or hmr = dict(pretrained='...'); the raw release file is accepted too).
# Nothing is downloaded; without weights the network is random and a warning
# is logged once.
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
