# GML stage 2 (student): ResNet-32 with the frozen ResNet-56 teacher of
# gml-teacher_resnet56_1xb128-200e_cifar100lt-r100.py as key encoder, a
# trainable key projector and distillation (alpha 1), CIFAR-100-LT, imbalance
# 100.
_base_ = ['./gml-ema_resnet32_1xb128-200e_cifar100lt-r100.py']

model = dict(
    head=dict(
        key_in_channels=64,  # ResNet-56 feature size
        loss_gml=dict(kd_weight=1.0, kd_temperature=4.0)),
    teacher=dict(
        type='ImageClassifier',
        backbone=dict(type='CIFARResNet', depth=56),
        neck=dict(type='GlobalAveragePooling'),
        head=dict(
            type='GMLClsHead',
            num_classes=100,
            in_channels=64,
            classifier_scale=30.0,
            loss_gml=dict(type='GMLLoss', con_weight=0.0, kd_weight=0.0)),
        checkpoint=('work_dirs/'
                    'gml-teacher_resnet56_1xb128-200e_cifar100lt-r100/'
                    'epoch_200.pth')))
