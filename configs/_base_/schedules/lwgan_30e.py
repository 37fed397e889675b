# The release's schedule: Adam 2e-4, betas (0.5, 0.999) for G and D, D updated
# every iteration, 30 epochs: 5 at the initial lr, then 25 of linear decay to
# 2e-6 (end factor 0.01).
max_epochs = 30
decay_start = 5

optim_wrapper = dict(
    constructor='MultiOptimWrapperConstructor',
    generator=dict(
        type='OptimWrapper',
        optimizer=dict(type='Adam', lr=2e-4, betas=(0.5, 0.999))),
    discriminator=dict(
        type='OptimWrapper',
        optimizer=dict(type='Adam', lr=2e-4, betas=(0.5, 0.999))))

_decay = [
    dict(type='ConstantLR', factor=1.0, begin=0, end=decay_start,
         by_epoch=True),
    dict(type='LinearLR', start_factor=1.0, end_factor=0.01,
         begin=decay_start, end=max_epochs, by_epoch=True,
         convert_to_iter_based=True),
]
param_scheduler = dict(generator=_decay, discriminator=_decay)

train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=max_epochs,
                 val_interval=5)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
