# Ablation W_C (input concatenation), tiny, on the synthetic data: the same
# budget and
# recipe as lwgan_lwb-tiny_1xb4-300i_synthetic-64.py.
_base_ = ['./lwgan_lwb-tiny_1xb4-300i_synthetic-64.py']
model = dict(
    generator=dict(
        _delete_=True,
        type='ConcatGenerator',
        bg_net={{_base_.generator.bg_net}},
        tsf_net=dict(type='ResUnetGenerator', in_channels=9,
                     base_channels=16, num_downs=3, num_blocks=2),
        num_sources=1),
    pixel_loss=None,  # no source stream
)
