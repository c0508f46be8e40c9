# CamVid from scratch on CPU, cross-entropy baseline of three variants that
# share this file's model, data and schedule:
#   fcn-ce_*   plain cross-entropy (this file)
#   fcn-lace_* logit-adjusted cross-entropy (same linear head)
#   fcn-gml_*  the FCN head wrapped by GMLHead
# (the other baselines take their loss from configs/_base_/losses/).
# The data, the train prior and the long-tail metric: _base_/datasets/.
# 1000 iterations of 8 images at 240x180, sized for training on a CPU.
_base_ = [
    '../_base_/models/tiny_fcn_camvid.py',
    '../_base_/datasets/camvid_240x180.py',
    'mmseg::_base_/default_runtime.py'
]
custom_imports = dict(imports=['mil_seg'], allow_failed_imports=False)
crop_size = (180, 240)
data_preprocessor = dict(size=crop_size)
model = dict(data_preprocessor=data_preprocessor)

train_dataloader = dict(batch_size=8, num_workers=2)
val_dataloader = dict(batch_size=1, num_workers=2)
test_dataloader = val_dataloader

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
