# Ablation W_C: input concatenation, no warping,
# on iPER at 256 px with the LWB recipe (configs/_base_/models/
# lwgan_generator_ablations.py holds the generator definitions).
_base_ = [
    './lwgan_lwb_1xb4-30e_iper-256.py',
    '../_base_/models/lwgan_generator_ablations.py'
]
model = dict(
    generator=dict(
        _delete_=True,
        type='ConcatGenerator',
        bg_net={{_base_.generator_wc.bg_net}},
        tsf_net={{_base_.generator_wc.tsf_net}},
        num_sources=2),
    pixel_loss=None,  # no source stream to reconstruct
)
# W_C's target stream reads 2 sources' [RGB, cond] + the target cond (15
# channels, the released concat baseline's layout)
train_dataloader = dict(dataset=dict(num_sources=2))
val_dataloader = dict(dataset=dict(num_sources=2))
test_dataloader = val_dataloader
