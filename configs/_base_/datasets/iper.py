# iPER (Impersonator, ICCV 2019) at 256 px, sampled as the release trains:
# one source frame from the first 15 frames of a video, the target anywhere in
# the same video, about n_frames / 10 pairs per video per epoch, batch 4, no
# augmentation (resize to 256; the data preprocessor maps [0, 255] to [-1, 1]).
#
# Layout under data_root (see mmlwgan/datasets/iper_dataset.py):
#   images/<actor>/<cloth>/<action>/000.jpg ...   (or the 256 px video release
#   iPER_256_video_release/<actor>_<cloth>_<action>.mp4 / images/<id>.mp4)
#   smpls/<actor>/<cloth>/<action>/{pose_shape,kps}.pkl
#   train.txt, val.txt
#   iPER_protocol.json   the release's evaluation protocol file (copy it
#                        here; set protocol_file=None to evaluate with the
#                        first frame as source instead)
dataset_type = 'IPERDataset'
data_root = 'data/iPER'

train_pipeline = [
    dict(type='LoadPairFrames'),
    # iPER frames are square: a plain resize, SMPL cameras unchanged
    dict(type='ResizeFrames', scale=256, mode='pad'),
    dict(type='PackLWGANInputs'),
]
test_pipeline = train_pipeline

train_dataloader = dict(
    batch_size=4,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='train.txt',
        num_sources=1,
        src_range=15,
        sample_ratio=0.1,
        pipeline=train_pipeline))

val_dataloader = dict(
    batch_size=4,
    num_workers=4,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='val.txt',
        test_mode=True,
        num_sources=1,
        protocol_file='iPER_protocol.json',
        test_task='self_imitation',
        # every 10th frame of the self-imitation range during training
        test_interval=10,
        pipeline=test_pipeline))

test_dataloader = dict(
    batch_size=4,
    num_workers=4,
    persistent_workers=True,
    drop_last=False,
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='pseudo_collate'),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='val.txt',
        test_mode=True,
        num_sources=1,
        protocol_file='iPER_protocol.json',
        test_task='self_imitation',
        test_interval=1,
        pipeline=test_pipeline))

# LPIPSMetric needs its AlexNet weights (pretrained=...) for comparable values
val_evaluator = [
    dict(type='SSIMMetric'),
    dict(type='PSNRMetric'),
    dict(type='MaskedL1Metric'),
    dict(type='LPIPSMetric'),
]
test_evaluator = val_evaluator
