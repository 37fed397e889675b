# Ablation W_T (texture warping), tiny, on the synthetic data: the same budget and
# recipe as lwgan_lwb-tiny_1xb4-300i_synthetic-64.py.
_base_ = ['./lwgan_lwb-tiny_1xb4-300i_synthetic-64.py']
model = dict(
    generator=dict(
        _delete_=True,
        type='TextureWarpingGenerator',
        bg_net={{_base_.generator.bg_net}},
        tsf_net={{_base_.generator.tsf_net}}),
    pixel_loss=None,  # no source stream
)
