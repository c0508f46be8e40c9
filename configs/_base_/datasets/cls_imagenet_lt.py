# ImageNet-LT (Liu et al., 2019) from its public split lists
# (ImageNet_LT_{train,val,test}.txt, "path label" per line), one view.
dataset_type = 'ImageNetLT'
data_root = 'data/imagenet'
num_classes = 1000
bgr_mean = [103.53, 116.28, 123.675]

data_preprocessor = dict(
    num_classes=num_classes,
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    to_rgb=True)

# GML ImageNet-LT recipe: RandomResizedCrop 224, flip, colour jitter,
# RandAugment (2 ops, magnitude 10).
view_pipeline = [
    dict(type='RandomResizedCrop', scale=224, backend='pillow'),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='ColorJitter', brightness=0.4, contrast=0.4, saturation=0.4),
    dict(
        type='RandAugment',
        policies='timm_increasing',
        num_policies=2,
        total_level=10,
        magnitude_level=10,
        hparams=dict(
            pad_val=[round(x) for x in bgr_mean], interpolation='bicubic')),
]
train_pipeline = [dict(type='LoadImageFromFile')] + view_pipeline + [
    dict(type='PackInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='ResizeEdge', scale=256, edge='short', backend='pillow'),
    dict(type='CenterCrop', crop_size=224),
    dict(type='PackInputs'),
]

train_dataloader = dict(
    batch_size=128,
    num_workers=8,
    persistent_workers=True,
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='ImageNet_LT_train.txt',
        pipeline=train_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'))

val_dataloader = dict(
    batch_size=128,
    num_workers=8,
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        ann_file='ImageNet_LT_test.txt',
        pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'))
val_evaluator = dict(type='LongTailAccuracy')

test_dataloader = val_dataloader
test_evaluator = val_evaluator
