# The schedule of the tiny segmentation configs (CamVid, CCP; the tiny
# ResNet and EfficientNet-Lite0 segmentors alike), sized for training on a
# CPU: AdamW, a 50-iteration linear warm-up, then poly decay to 1000
# iterations; validation and a checkpoint every 500.
optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=2e-3, weight_decay=1e-4),
    # GML's learnt temperature (per class or shared) is never weight-decayed.
    paramwise_cfg=dict(
        custom_keys={'log_temperature': dict(decay_mult=0.0)}))
param_scheduler = [
    dict(type='LinearLR', start_factor=0.1, by_epoch=False, begin=0, end=50),
    dict(
        type='PolyLR',
        eta_min=1e-5,
        power=0.9,
        begin=50,
        end=1000,
        by_epoch=False)
]
train_cfg = dict(type='IterBasedTrainLoop', max_iters=1000, val_interval=500)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
default_hooks = dict(
    logger=dict(type='LoggerHook', interval=50, log_metric_by_epoch=False),
    checkpoint=dict(type='CheckpointHook', by_epoch=False, interval=500))
randomness = dict(seed=0)
