# CamVid from scratch on CPU, cross-entropy baseline of three variants that
# share this file's model, data and schedule:
#   fcn-ce_*   plain cross-entropy (this file)
#   fcn-lace_* logit-adjusted cross-entropy (same linear head)
#   fcn-gml_*  the FCN head wrapped by GMLHead
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

# CamVid train prior shipped with mil_seg: pixel counts (loss, queue and
# metric) and image counts (the metric's frequent / common / rare groups).
prior = dict(type='ClassPrior', num_classes=11, file='camvid')
# The loss_decode of the logit-adjusted CE variants (fcn-lace_*,
# deeplabv3plus-lace_*), with the same prior.
logit_adjusted_ce_loss = dict(
    _delete_=True,
    type='LogitAdjustedCELoss',
    prior=prior,
    avg_non_ignore=True,
    loss_weight=1.0)
# The loss_decode of the other baselines (*-cwce_*, *-blv_*, *-seesaw_*):
# class-weighted CE with inverse prior weights (exponent 0.5 is
# square-root inverse), Balancing Logit Variation at its authors' sigma,
# both with the same prior, and Seesaw with its authors' p and q (its own
# cumulative counts).
class_weighted_ce_loss = dict(
    _delete_=True, type='ClassWeightedCELoss', prior=prior, exponent=1.0)
blv_loss = dict(_delete_=True, type='BLVLoss', prior=prior, sigma=4.0)
seesaw_loss = dict(
    _delete_=True, type='PixelSeesawLoss', num_classes=11, p=0.8, q=2.0)

train_dataloader = dict(batch_size=8, num_workers=2)
val_dataloader = dict(batch_size=1, num_workers=2)
test_dataloader = val_dataloader
val_evaluator = dict(
    _delete_=True,
    type='LongTailIoUMetric',
    iou_metrics=['mIoU'],
    prior=prior,
    group_split=(0.5, 0.9),
    # frequent / common / rare by training images per class (the prior's
    # image_counts). CamVid's choice, not a benchmark's (LTSS does not
    # report CamVid): LVIS's absolute thresholds (frequent: more than 100
    # images) would make every class of the 367 train images frequent, as
    # most classes are in nearly every image, so the classes are ranked by
    # images as LTSS ranks its datasets': the 60 % in the most images
    # frequent, the next 20 % common, the last 20 % rare.
    frequency_groups=dict(group_by='rank', group_split=(0.6, 0.8)))
test_evaluator = val_evaluator

optim_wrapper = dict(
    type='OptimWrapper',
    optimizer=dict(type='AdamW', lr=2e-3, weight_decay=1e-4),
    # GML's per-class temperature is never weight-decayed.
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
