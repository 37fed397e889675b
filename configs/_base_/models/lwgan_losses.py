# Losses of the Liquid Warping GAN with the ICCV release's weights
# (svip-lab/impersonator, models/impersonator_trainer.py):
#   rec 10, tsf (perceptual) 10, face 5, mask 1, mask TV 1, GAN 1.
#
# Pretrained networks are never downloaded: put the files below in place
# (torchvision's VGG19 ImageNet weights, and the SphereFace-20a weights of the
# release), or leave None to train with randomly initialised feature
# networks (a warning says so once; the losses are then NOT the published
# ones).
vgg19_pretrained = None  # e.g. 'data/pretrains/vgg19-dcbb9e9d.pth'
sphereface_pretrained = None  # e.g. 'data/pretrains/sphere20a_20171020.pth'

# L1 (element mean) on the composited source reconstruction.
rec_loss = dict(type='L1Loss', loss_weight=10.0, loss_name='loss_rec')

# VGG19 relu1_1..relu5_1, L1, layer weights 1/32, 1/16, 1/8, 1/4, 1.
# The release feeds its [-1, 1] images to the VGG as they are (input_norm=
# 'none', kept here to reproduce it); 'imagenet' renormalises them first (what
# torchvision's VGG weights expect; about 2.2x larger loss values).
tsf_loss = dict(
    type='PerceptualLoss',
    loss_weight=10.0,
    layer_weights=dict(
        relu1_1=1.0 / 32,
        relu2_1=1.0 / 16,
        relu3_1=1.0 / 8,
        relu4_1=1.0 / 4,
        relu5_1=1.0),
    pretrained=vgg19_pretrained,
    input_norm='none',
    criterion='l1',
    loss_name='loss_tsf')

# SphereFace-20a on 112x96 head crops (head box from the target's projected
# COCO-plus joints 12..18); 4 stage features + the 512-d embedding, L1,
# unweighted sum in the ICCV release.
face_loss = dict(
    type='FaceIdentityLoss',
    loss_weight=5.0,
    face_net=dict(type='SphereFace20a'),
    pretrained=sphereface_pretrained,
    feature_weights=(1.0, 1.0, 1.0, 1.0, 1.0),
    input_size=(112, 96),
    head_indices=(12, 13, 14, 15, 16, 17, 18),
    box_cfg=dict(margin=0.05, bottom_margin=0.0, scale=1.0, square=False,
                 quantize=True, min_size=1.0),
    loss_name='loss_face')

# Attention masks (source and target streams) against the rendered background
# masks eroded with a 3x3 box (the target is eroded by the flow composer).
mask_loss = dict(
    type='MaskLoss', loss_type='bce', loss_weight=1.0, loss_name='loss_mask')

# Mask smoothness: mean|dx| + mean|dy|.
tv_loss = dict(type='TVLoss', loss_weight=1.0, loss_name='loss_mask_smooth')

# LSGAN: D targets real +1 / fake -1, G target 0, weight 1 on both players.
gan_loss = dict(
    type='LSGANLoss',
    real_label=1.0,
    fake_label=-1.0,
    gen_label=0.0,
    loss_weight=1.0,
    loss_name='loss_gan')

# iPERCore / Impersonator++ (the extension) differs in:
#   face_loss: feature_weights=(1 / 32, 1 / 16, 1 / 8, 1 / 4, 1.0)
#   mask_loss: loss_weight=5.0
# (rec 10, tsf 10, face 5, TV 1, GAN 1 unchanged), e.g.
# face_loss = dict(face_loss, feature_weights=(1 / 32, 1 / 16, 1 / 8, 1 / 4, 1.0))
# mask_loss = dict(mask_loss, loss_weight=5.0)
