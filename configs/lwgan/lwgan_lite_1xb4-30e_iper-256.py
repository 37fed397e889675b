# Lite Liquid Warping GAN: the LWB recipe on iPER at 256 px with a narrower
# target stream (configs/_base_/models/lwgan_lite.py: G_TSF widths
# 64/128/256, 27.4 instead of 105.6 GFLOPs per frame; G_BG and G_SID full
# width, fused through ProjectedLWB). Same losses, optimiser and schedule.
_base_ = [
    './lwgan_lwb_1xb4-30e_iper-256.py', '../_base_/models/lwgan_lite.py'
]
model = dict(
    generator=dict(
        _delete_=True,
        type='LWBGenerator',
        bg_net={{_base_.generator_lite.bg_net}},
        src_net={{_base_.generator_lite.src_net}},
        tsf_net={{_base_.generator_lite.tsf_net}},
        fusion={{_base_.generator_lite.fusion}}))
