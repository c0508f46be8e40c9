# CIFAR-10-LT (imbalance 100) made from CIFAR-10 JPEG folders
# (data_root/train/<class>/*.jpg, data_root/val/<class>/*.jpg), one view.
data_root = 'data/cifar10'
num_classes = 10

data_preprocessor = dict(
    num_classes=num_classes,
    # RGB mean / std of CIFAR-10; JPEGs are loaded as BGR.
    mean=[125.307, 122.961, 113.8575],
    std=[51.5865, 50.847, 51.255],
    to_rgb=True)

view_pipeline = [
    dict(type='RandomCrop', crop_size=32, padding=4),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='TorchAutoAugment', policy='cifar10'),
    dict(type='Cutout', shape=16, prob=1.0),
]
train_pipeline = [dict(type='LoadImageFromFile')] + view_pipeline + [
    dict(type='PackInputs')
]
test_pipeline = [dict(type='LoadImageFromFile'), dict(type='PackInputs')]

train_dataloader = dict(
    batch_size=128,
    num_workers=4,
    persistent_workers=True,
    dataset=dict(
        type='LongTailSubset',
        imbalance_factor=100,
        seed=0,
        dataset=dict(
            type='CustomDataset',
            data_root=data_root,
            data_prefix='train',
            pipeline=train_pipeline)),
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'))

val_dataloader = dict(
    batch_size=256,
    num_workers=2,
    dataset=dict(
        type='CustomDataset',
        data_root=data_root,
        data_prefix='val',
        pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'))
val_evaluator = dict(type='LongTailAccuracy')

test_dataloader = val_dataloader
test_evaluator = val_evaluator
