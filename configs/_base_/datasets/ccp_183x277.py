# Clothing Co-Parsing (CCP), 59 classes (id 0, ``null``, the background, is
# a class), the split shipped with mil_seg (train 600 / val 150 / test 254),
# at one third of the release's size (about 183x277, portrait), in the mmseg
# layout written by
#   python tools/dataset_converters/ccp.py CCP_RELEASE data/ccp
# The pipeline is CamVid's (camvid.py) with the scale and crop of these
# images (the crop is the whole image at scale 1).
dataset_type = 'CCPDataset'
data_root = 'data/ccp'
img_scale = (183, 277)
crop_size = (277, 183)
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

# The long-tail metric. The CCP train prior shipped with mil_seg
# (mil_seg/priors/ccp.json, computed with
# tools/analysis/compute_class_prior.py): pixel counts (the metric's head /
# body / tail groups, and the losses and queue of the configs that read a
# prior) and image counts (the metric's frequent / common / rare groups).
prior = dict(type='ClassPrior', num_classes=59, file='ccp')
val_evaluator = dict(
    type='LongTailIoUMetric',
    iou_metrics=['mIoU'],
    prior=prior,
    # head / body / tail by pixel rank in thirds, as for ADE20K
    # (ade20k_lt.py), not by pixel share: the background (null) holds
    # most of the labelled pixels by itself, so the share split (0.5, 0.9)
    # would make it the whole head and leave nearly every garment in the
    # tail; ranks make three groups of about 20 classes, the head the
    # background, skin, hair and the large garments.
    group_by='rank',
    group_split=(1 / 3, 2 / 3),
    # frequent / common / rare by training images per class (the prior's
    # image_counts) with LTSS's rule, as LTSS groups MHP-v2-LT, another
    # human-parsing set of 59 classes: the 60 % of classes in the most
    # training images frequent, the next 20 % common, the last 20 % rare.
    # (Classes never seen in train count as rare.)
    frequency_groups=dict(group_by='rank', group_split=(0.6, 0.8)))
test_evaluator = val_evaluator
