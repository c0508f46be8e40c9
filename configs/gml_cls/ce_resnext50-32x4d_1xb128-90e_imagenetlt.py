# Baseline: plain cross-entropy, ResNeXt-50 32x4d, ImageNet-LT, 90 epochs.
_base_ = [
    '../_base_/datasets/cls_imagenet_lt.py',
    '../_base_/schedules/cls_imagenet_lt_90e.py',
    '../_base_/cls_default_runtime.py'
]

model = dict(
    type='ImageClassifier',
    backbone=dict(type='ResNeXt', depth=50, groups=32, width_per_group=4),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=1000,
        in_channels=2048,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0)))
