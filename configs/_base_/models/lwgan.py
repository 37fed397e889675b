# The Liquid Warping GAN as released (ICCV 2019): LWB generator, conditional
# PatchGAN, the release's losses, SMPL + pure-PyTorch rasterizer geometry.
_base_ = ['./lwgan_generator.py', './lwgan_losses.py', '../geometry.py']

model = dict(
    type='LiquidWarpingGAN',
    generator={{_base_.generator}},
    discriminator={{_base_.discriminator}},
    body_model={{_base_.body_model}},
    rasterizer={{_base_.rasterizer}},
    # None: the release's UV condition map from the SMPL file's 'face_uv';
    # for a real SMPL file give the release's UV mapper:
    # cond_encoder=dict(type='CondMapEncoder', mode='uv',
    #                   uv_mapping='data/smpl/mapper.txt'),
    cond_encoder=None,
    pixel_loss={{_base_.rec_loss}},
    perceptual_loss={{_base_.tsf_loss}},
    face_loss={{_base_.face_loss}},
    mask_loss={{_base_.mask_loss}},
    tv_loss={{_base_.tv_loss}},
    gan_loss={{_base_.gan_loss}},
    use_visibility=False,
    ft_kernel=3,
    bg_kernel=15,
    data_preprocessor=dict(type='LWGANDataPreprocessor'))
