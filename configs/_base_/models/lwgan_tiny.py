# A narrow Liquid Warping GAN for CPU runs on synthetic data (64-128 px):
# same architecture family as the release (G_BG + G_SID + G_TSF with 9 LWB
# fusion points, conditional PatchGAN, LSGAN), base width 16 instead of 64
# and 2 residual blocks instead of 6.
#
# The feature networks of the perceptual and face losses need pretrained
# weights that cannot be downloaded here; these configs therefore use an L1
# loss on the target image in the perceptual slot and no face loss. With VGG19
# weights at hand, use `tsf_loss` of lwgan_losses.py instead.
_base_ = ['./lwgan_losses.py']

smpl_path = 'data/synthetic_iper/smpl_model.npz'
# Trained with the project's synthetic body (the one make_synthetic_iper.py
# writes beside the data): for inference (init_model, the inferencers, the
# demo CLIs) a missing `smpl_path` is replaced by the same body generated
# into ~/.cache/mmlwgan/synthetic_smpl (see
# mmlwgan.apis.inference.use_synthetic_body_if_missing).
synthetic_body = True
image_size = 64
_width = dict(base_channels=16, num_downs=3, num_blocks=2)

generator = dict(
    type='LWBGenerator',
    bg_net=dict(type='ResNetGenerator', in_channels=4, **_width),
    src_net=dict(type='ResUnetGenerator', in_channels=6, **_width),
    tsf_net=dict(type='ResUnetGenerator', in_channels=6, **_width),
    fusion=dict(type='LiquidWarpingBlock', align_corners=False))

model = dict(
    type='LiquidWarpingGAN',
    generator=generator,
    discriminator=dict(type='PatchDiscriminator', in_channels=6,
                       base_channels=16, num_layers=3),
    body_model=dict(type='SMPL', model_path=smpl_path),
    rasterizer=dict(type='MeshRasterizer', image_size=image_size),
    cond_encoder=None,
    pixel_loss={{_base_.rec_loss}},
    perceptual_loss=dict(type='L1Loss', loss_weight=10.0,
                         loss_name='loss_tsf'),
    face_loss=None,
    mask_loss={{_base_.mask_loss}},
    tv_loss={{_base_.tv_loss}},
    gan_loss={{_base_.gan_loss}},
    data_preprocessor=dict(type='LWGANDataPreprocessor'))
