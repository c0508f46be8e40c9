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
# MMSegmentation's own baselines (*-focal_*, *-ohem_*, *-lovasz_*), which
# use no class statistics.
# Focal loss (Lin et al., ICCV 2017), one sigmoid binary problem per class,
# at the paper's gamma 2 and alpha 0.25, which it tuned together (mmseg's
# default alpha, 0.5, weighs positives and negatives alike). mmseg's 'mean'
# divides by pixels x classes (ignored pixels included); loss_weight = the
# number of classes turns that into the paper's normalisation (RetinaNet
# divides by the number of positives: one per pixel here), a per-pixel loss
# on CE's scale rather than 1/C of it.
focal_loss = dict(
    _delete_=True,
    type='FocalLoss',
    use_sigmoid=True,
    gamma=2.0,
    alpha=0.25,
    loss_weight=11.0)
# Online hard example mining on the CE head (decode_head.sampler): CE only
# on the pixels whose ground-truth probability is below thresh (0.7, as in
# mmseg's OHEM configs with a threshold), and at least min_kept x batch
# size of the hardest pixels in a batch. min_kept keeps about the share of
# a crop that mmseg's DeepLabV3+ OHEM configs keep (100000 of 512x1024,
# about a fifth): 8000 of a 240x180 crop's 43200 pixels, so at least 64000
# of a batch of 8. The CE still divides by all non-ignored pixels, as in
# mmseg.
ohem_sampler = dict(type='OHEMPixelSampler', thresh=0.7, min_kept=8000)
# Lovasz-Softmax (Berman et al., CVPR 2018) added to the CE baseline's CE:
# its authors advise training it after or beside CE, as its best optimiser
# settings differ from CE's, and this schedule is CE's, from scratch.
# per_image=False takes each present class's Jaccard over the batch, nearer
# the dataset mIoU that is reported than per-image IoU; mmseg then
# requires reduction='none' (the loss is one value already).
lovasz_loss = [
    {{_base_.model.decode_head.loss_decode}},
    dict(
        type='LovaszLoss',
        loss_type='multi_class',
        classes='present',
        per_image=False,
        reduction='none',
        loss_weight=1.0,
        loss_name='loss_lovasz')
]

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
