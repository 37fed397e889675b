# A narrow LWB model trained on the synthetic iPER-format data at 64 px, on
# CPU in minutes (a smoke test of the whole training path, and the model
# behind the bundled demo checkpoint). Make the data first:
#   python tools/dataset_converters/make_synthetic_iper.py --out data/synthetic_iper
_base_ = [
    '../_base_/models/lwgan_tiny.py', '../_base_/datasets/synthetic_iper.py',
    '../_base_/default_runtime.py'
]

max_iters = 300
train_dataloader = dict(batch_size=4, num_workers=2)

optim_wrapper = dict(
    constructor='MultiOptimWrapperConstructor',
    generator=dict(
        type='OptimWrapper',
        optimizer=dict(type='Adam', lr=1e-3, betas=(0.5, 0.999))),
    discriminator=dict(
        type='OptimWrapper',
        optimizer=dict(type='Adam', lr=1e-3, betas=(0.5, 0.999))))
# the release's shape: constant, then linear decay to 1 %. Changing
# train_cfg.max_iters from the command line does not move these bounds: set
# param_scheduler.{generator,discriminator}.{0.end,1.begin,1.end} too (as
# tools/analysis_tools/benchmark_ablations.py does), or edit max_iters here.
_decay = [
    dict(type='ConstantLR', factor=1.0, begin=0, end=max_iters // 6,
         by_epoch=False),
    dict(type='LinearLR', start_factor=1.0, end_factor=0.01,
         begin=max_iters // 6, end=max_iters, by_epoch=False),
]
param_scheduler = dict(generator=_decay, discriminator=_decay)

train_cfg = dict(type='IterBasedTrainLoop', max_iters=max_iters,
                 val_interval=max_iters)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
val_evaluator = [
    dict(type='SSIMMetric'),
    dict(type='PSNRMetric'),
    dict(type='MaskedL1Metric'),
]
test_evaluator = val_evaluator

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=10, log_metric_by_epoch=False),
    checkpoint=dict(type='CheckpointHook', interval=100, by_epoch=False,
                    max_keep_ckpts=2),
    visualization=dict(type='LWGANVisualizationHook', interval=100))
log_processor = dict(by_epoch=False)
