# CamVid, 11 classes, SegNet split (train 367 / val 101 / test 233), in the
# mmseg layout written by
#   python tools/dataset_converters/camvid.py SEGNET_CAMVID data/camvid
# Full resolution 480x360; see camvid_240x180.py for the 2x-downsampled copy.
dataset_type = 'CamVidDataset'
data_root = 'data/camvid'
img_scale = (480, 360)
crop_size = (360, 480)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(
        type='RandomResize',
        scale=img_scale,
        ratio_range=(0.5, 2.0),
        keep_ratio=True),
    dict(type='RandomCrop', crop_size=crop_size, cat_max_ratio=0.75),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PhotoMetricDistortion'),
    dict(type='PackSegInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='Resize', scale=img_scale, keep_ratio=True),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs')
]
train_dataloader = dict(
    batch_size=4,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(
            img_path='img_dir/train', seg_map_path='ann_dir/train'),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=1,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        data_prefix=dict(img_path='img_dir/val', seg_map_path='ann_dir/val'),
        pipeline=test_pipeline))
test_dataloader = val_dataloader

# The long-tail metric. The CamVid train prior shipped with mil_seg
# (mil_seg/priors/camvid.json, computed with
# tools/analysis/compute_class_prior.py): pixel counts (the metric's head /
# body / tail groups, and the losses and queue of the configs that read a
# prior) and image counts (the metric's frequent / common / rare groups).
prior = dict(type='ClassPrior', num_classes=11, file='camvid')
val_evaluator = dict(
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
