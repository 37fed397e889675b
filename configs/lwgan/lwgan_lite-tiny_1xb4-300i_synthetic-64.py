# Lite LWB, tiny, on the synthetic data: the same budget and recipe as
# lwgan_lwb-tiny_1xb4-300i_synthetic-64.py with the target stream at half
# width (base 8 instead of 16, as the lite 256 px config halves 64 -> 32);
# G_BG and G_SID keep the tiny width, fused through ProjectedLWB.
_base_ = ['./lwgan_lwb-tiny_1xb4-300i_synthetic-64.py']
model = dict(
    generator=dict(
        tsf_net=dict(base_channels=8),
        fusion=dict(_delete_=True, type='ProjectedLWB',
                    align_corners=False)))
