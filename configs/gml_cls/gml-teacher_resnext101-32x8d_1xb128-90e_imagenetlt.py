# GML stage 1 (teacher): ResNeXt-101 32x8d with the logit-adjusted cosine
# classifier, ImageNet-LT, 90 epochs.
_base_ = [
    '../_base_/datasets/cls_imagenet_lt.py',
    '../_base_/schedules/cls_imagenet_lt_90e.py',
    '../_base_/cls_default_runtime.py'
]

model = dict(
    type='ImageClassifier',
    backbone=dict(type='ResNeXt', depth=101, groups=32, width_per_group=8),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='GMLClsHead',
        num_classes=1000,
        in_channels=2048,
        classifier_scale=30.0,  # 1 / T_s
        loss_gml=dict(type='GMLLoss', con_weight=0.0, kd_weight=0.0)))
