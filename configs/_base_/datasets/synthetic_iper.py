# The synthetic iPER-format dataset (tests, CPU runs, smoke training): the
# same structure as iper.py at 64 px with small batches. Make it first:
#   python tools/dataset_converters/make_synthetic_iper.py \
#       --out data/synthetic_iper --actors 4 --clothes 2 --actions 3 \
#       --frames 60 --size 128 --seed 0
# It writes the body model the frames were rendered with beside the data:
# data/synthetic_iper/smpl_model.npz (use it as the SMPL model_path, as
# configs/_base_/models/lwgan_tiny.py does).
dataset_type = 'IPERDataset'
data_root = 'data/synthetic_iper'

train_pipeline = [
    dict(type='LoadPairFrames'),
    dict(type='ResizeFrames', scale=64, mode='pad', interpolation='area'),
    dict(type='PackLWGANInputs'),
]
test_pipeline = train_pipeline

train_dataloader = dict(
    batch_size=2,
    num_workers=2,
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
    batch_size=2,
    num_workers=2,
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
        test_interval=10,
        pipeline=test_pipeline))

test_dataloader = dict(
    batch_size=2,
    num_workers=2,
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
        test_interval=2,
        pipeline=test_pipeline))

# LPIPSMetric needs its AlexNet weights (pretrained=...) for comparable values
val_evaluator = [
    dict(type='SSIMMetric'),
    dict(type='PSNRMetric'),
    dict(type='MaskedL1Metric'),
    dict(type='LPIPSMetric'),
]
test_evaluator = val_evaluator
