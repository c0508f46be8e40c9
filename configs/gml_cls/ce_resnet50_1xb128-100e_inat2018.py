# Baseline: plain cross-entropy, ResNet-50, iNaturalist 2018, 100 epochs.
_base_ = [
    '../_base_/datasets/cls_inat2018.py',
    '../_base_/schedules/cls_inat2018_100e.py',
    '../_base_/cls_default_runtime.py'
]

model = dict(
    type='ImageClassifier',
    backbone=dict(type='ResNet', depth=50),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=8142,
        in_channels=2048,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0)))
