# Liquid Warping GAN (LWB), the ICCV release's recipe on iPER at 256 px:
# batch 4, Adam 2e-4 betas (0.5, 0.999), 5 + 25 epochs with linear decay.
_base_ = [
    '../_base_/models/lwgan.py', '../_base_/datasets/iper.py',
    '../_base_/schedules/lwgan_30e.py', '../_base_/default_runtime.py'
]

# the SMPL model file (licensed; not shipped): set your own path
smpl_path = 'data/smpl/SMPL_NEUTRAL.pkl'
model = dict(
    body_model=dict(model_path=smpl_path),
    # the release's UV mapper for the condition maps of the real SMPL body
    cond_encoder=dict(_delete_=True, type='CondMapEncoder', mode='uv',
                      uv_mapping='data/smpl/mapper.txt'))

default_hooks = dict(
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=3),
    visualization=dict(type='LWGANVisualizationHook', interval=1000))
auto_scale_lr = dict(base_batch_size=4, enable=False)
