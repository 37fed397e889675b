# Liquid Warping GAN (LWB), the ICCV release's recipe on iPER at 256 px:
# batch 4, Adam 2e-4 betas (0.5, 0.999), 5 + 25 epochs with linear decay.
_base_ = [
    '../_base_/models/lwgan.py', '../_base_/datasets/iper.py',
    '../_base_/schedules/lwgan_30e.py', '../_base_/default_runtime.py'
]

# Two files of the release's assets/pretrains (pretrains.zip) are needed
# here. With the release's assets in hand,
#   python tools/model_converters/convert_release.py assets --out DIR
# writes DIR/config.py (this recipe with every path below, and HMR, filled in)
# and DIR/lwgan.pth; nothing to edit. By hand:
# the SMPL model file (licensed; not shipped): set your own path (the
# release's neutral SMPL is inside hmr_tf2pt.pth:
# tools/model_converters/smpl_to_npz.py hmr_tf2pt.pth OUT.npz --faces
# smpl_faces.npy)
smpl_path = 'data/smpl/SMPL_NEUTRAL.pkl'
model = dict(
    body_model=dict(model_path=smpl_path),
    # the release's UV mapper (assets/pretrains/mapper.txt) for the
    # condition maps of the real SMPL body
    cond_encoder=dict(_delete_=True, type='CondMapEncoder', mode='uv',
                      uv_mapping='data/smpl/mapper.txt'))

default_hooks = dict(
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=3),
    visualization=dict(type='LWGANVisualizationHook', interval=1000))
auto_scale_lr = dict(base_batch_size=4, enable=False)
