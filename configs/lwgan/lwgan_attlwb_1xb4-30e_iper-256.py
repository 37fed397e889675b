# Ablation AttLWB: attentional LWB of Impersonator++,
# on iPER at 256 px with the LWB recipe (configs/_base_/models/
# lwgan_generator_ablations.py holds the generator definitions).
_base_ = [
    './lwgan_lwb_1xb4-30e_iper-256.py',
    '../_base_/models/lwgan_generator_ablations.py'
]
model = dict(
    generator=dict(
        _delete_=True,
        type='LWBGenerator',
        bg_net={{_base_.generator_attlwb.bg_net}},
        src_net={{_base_.generator_attlwb.src_net}},
        tsf_net={{_base_.generator_attlwb.tsf_net}},
        fusion={{_base_.generator_attlwb.fusion}})
)
