# Baseline: plain cross-entropy, ResNet-32, CIFAR-100-LT, imbalance 100.
_base_ = [
    '../_base_/datasets/cls_cifar100_lt.py',
    '../_base_/schedules/cls_cifar_200e.py',
    '../_base_/cls_default_runtime.py'
]

model = dict(
    type='ImageClassifier',
    backbone=dict(type='CIFARResNet', depth=32),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=100,
        in_channels=64,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0)))
