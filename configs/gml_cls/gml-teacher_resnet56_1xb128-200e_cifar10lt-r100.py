# GML stage 1 (teacher): ResNet-56 with the logit-adjusted cosine classifier
# (GML with the contrastive and distillation terms off), CIFAR-10-LT (JPEG
# folders), imbalance 100. The student config loads its last checkpoint.
_base_ = [
    '../_base_/datasets/cls_cifar10_lt_folder.py',
    '../_base_/schedules/cls_cifar_200e.py',
    '../_base_/cls_default_runtime.py'
]

model = dict(
    type='ImageClassifier',
    backbone=dict(type='CIFARResNet', depth=56),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='GMLClsHead',
        num_classes=10,
        in_channels=64,
        classifier_scale=30.0,  # 1 / T_s
        loss_gml=dict(type='GMLLoss', con_weight=0.0, kd_weight=0.0)))
