# The geometry core: a body model, a rasterizer and the flow composer.
# `smpl_path` must point at a SMPL file (.pkl or .npz). Real SMPL files are
# licensed and not shipped; `python tools/misc/make_synthetic_smpl.py --out
# data/smpl/synthetic_smpl.npz` writes a synthetic SMPL-format body.
smpl_path = 'data/smpl/SMPL_NEUTRAL.npz'
image_size = 256

body_model = dict(type='SMPL', model_path=smpl_path)
rasterizer = dict(type='MeshRasterizer', image_size=image_size,
                  backend='auto')
flow_composer = dict(type='FlowComposer', rasterizer=rasterizer,
                     use_visibility=False)
