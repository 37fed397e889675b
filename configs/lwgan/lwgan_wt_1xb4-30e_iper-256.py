# Ablation W_T: texture warping only (the warped image is the only input),
# on iPER at 256 px with the LWB recipe (configs/_base_/models/
# lwgan_generator_ablations.py holds the generator definitions).
_base_ = [
    './lwgan_lwb_1xb4-30e_iper-256.py',
    '../_base_/models/lwgan_generator_ablations.py'
]
model = dict(
    generator=dict(
        _delete_=True,
        type='TextureWarpingGenerator',
        bg_net={{_base_.generator_wt.bg_net}},
        tsf_net={{_base_.generator_wt.tsf_net}}),
    pixel_loss=None,  # no source stream to reconstruct
)
