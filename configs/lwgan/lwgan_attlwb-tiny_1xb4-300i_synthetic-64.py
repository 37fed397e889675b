# Ablation AttLWB (attentional LWB), tiny, on the synthetic data: the same budget and
# recipe as lwgan_lwb-tiny_1xb4-300i_synthetic-64.py.
_base_ = ['./lwgan_lwb-tiny_1xb4-300i_synthetic-64.py']
model = dict(
    generator=dict(
        fusion=dict(_delete_=True, type='AttentionalLWB',
                    hidden_channels=16, align_corners=False)))
