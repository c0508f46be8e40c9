# GML stage 2 (student): ResNeXt-50 32x4d with the frozen ResNeXt-101 32x8d
# teacher of gml-teacher_resnext101-32x8d_1xb128-90e_imagenetlt.py as key
# encoder and a trainable key projector; no distillation (alpha 0 on
# ImageNet-LT).
_base_ = ['./gml-ema_resnext50-32x4d_1xb128-90e_imagenetlt.py']

model = dict(
    head=dict(key_in_channels=2048),  # ResNeXt-101 feature size
    teacher=dict(
        type='ImageClassifier',
        backbone=dict(type='ResNeXt', depth=101, groups=32, width_per_group=8),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(
            type='GMLClsHead',
            num_classes=1000,
            in_channels=2048,
            classifier_scale=30.0,
            loss_gml=dict(type='GMLLoss', con_weight=0.0, kd_weight=0.0)),
        checkpoint=('work_dirs/'
                    'gml-teacher_resnext101-32x8d_1xb128-90e_imagenetlt/'
                    'epoch_90.pth')))
