# Ablation W_F (early feature warping), tiny, on the synthetic data: the same budget and
# recipe as lwgan_lwb-tiny_1xb4-300i_synthetic-64.py.
_base_ = ['./lwgan_lwb-tiny_1xb4-300i_synthetic-64.py']
model = dict(
    generator=dict(
        _delete_=True,
        type='FeatureWarpingGenerator',
        bg_net={{_base_.generator.bg_net}},
        src_net={{_base_.generator.src_net}},
        tsf_net=dict(type='ResUnetGenerator', in_channels=3,
                     base_channels=16, num_downs=3, num_blocks=2),
        fusion=dict(type='LiquidWarpingBlock', align_corners=False),
        use_warped_image=False))
