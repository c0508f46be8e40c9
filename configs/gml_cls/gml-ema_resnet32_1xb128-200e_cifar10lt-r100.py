# GML single stage: ResNet-32 query encoder, momentum (EMA) key encoder,
# CIFAR-10-LT (JPEG folders), imbalance 100. Queue K 4096 (base 2 per class),
# dim 32, T_c 0.1.
_base_ = [
    '../_base_/datasets/cls_cifar10_lt_folder_3view.py',
    '../_base_/schedules/cls_cifar_200e.py',
    '../_base_/cls_default_runtime.py'
]

model = dict(
    type='GMLClassifier',
    backbone=dict(type='CIFARResNet', depth=32),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='GMLClsHead',
        num_classes=10,
        in_channels=64,
        classifier_scale=30.0,  # 1 / T_s
        embed_dim=32,
        queue=dict(size=4096, base_size=2),
        loss_gml=dict(
            type='GMLLoss',
            sup_weight=1.0,
            con_weight=1.0,
            kd_weight=0.0,
            init_temperature=0.1)),
    # mmengine momentum = weight of the new parameters: MoCo's m = 0.999.
    momentum=0.001)
