# CIFAR-100-LT (imbalance 100) from the CIFAR python batches, one view.
dataset_type = 'CIFAR100LT'
data_root = 'data/cifar100'
num_classes = 100

data_preprocessor = dict(
    num_classes=num_classes,
    # RGB mean / std of CIFAR-100; the batches are already RGB.
    mean=[129.304, 124.070, 112.434],
    std=[68.170, 65.392, 70.418],
    to_rgb=False)

# GML CIFAR recipe: crop 32 pad 4, flip, AutoAugment (CIFAR-10 policy),
# Cutout 16 px.
view_pipeline = [
    dict(type='RandomCrop', crop_size=32, padding=4),
    dict(type='RandomFlip', prob=0.5, direction='horizontal'),
    dict(type='TorchAutoAugment', policy='cifar10', channel_order='rgb'),
    dict(type='Cutout', shape=16, prob=1.0),
]
train_pipeline = view_pipeline + [dict(type='PackInputs')]
test_pipeline = [dict(type='PackInputs')]

train_dataloader = dict(
    batch_size=128,
    num_workers=4,
    persistent_workers=True,
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='train',
        imbalance_factor=100,
        seed=0,
        pipeline=train_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=True),
    collate_fn=dict(type='default_collate'))

val_dataloader = dict(
    batch_size=256,
    num_workers=2,
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        split='test',
        pipeline=test_pipeline),
    sampler=dict(type='DefaultSampler', shuffle=False),
    collate_fn=dict(type='default_collate'))
# top-1 and many (>100) / medium (20-100) / few (<20)-shot accuracy; the
# training counts come from ClassCountsHook.
val_evaluator = dict(type='LongTailAccuracy')

test_dataloader = val_dataloader
test_evaluator = val_evaluator
