# Baseline: plain cross-entropy, ResNet-32, CIFAR-10-LT (JPEG folders),
# imbalance 100.
_base_ = [
    '../_base_/datasets/cls_cifar10_lt_folder.py',
    '../_base_/schedules/cls_cifar_200e.py',
    '../_base_/cls_default_runtime.py'
]

model = dict(
    type='ImageClassifier',
    backbone=dict(type='CIFARResNet', depth=32),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='LinearClsHead',
        num_classes=10,
        in_channels=64,
        loss=dict(type='CrossEntropyLoss', loss_weight=1.0)))
