# GML single stage: ResNeXt-50 32x4d, momentum key encoder, ImageNet-LT. Queue
# K 16384 (base 3 per class), dim 1024, T_c 0.07, no distillation.
_base_ = [
    '../_base_/datasets/cls_imagenet_lt_3view.py',
    '../_base_/schedules/cls_imagenet_lt_90e.py',
    '../_base_/cls_default_runtime.py'
]

model = dict(
    type='GMLClassifier',
    backbone=dict(type='ResNeXt', depth=50, groups=32, width_per_group=4),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='GMLClsHead',
        num_classes=1000,
        in_channels=2048,
        classifier_scale=30.0,  # 1 / T_s
        embed_dim=1024,
        queue=dict(size=16384, base_size=3),
        loss_gml=dict(
            type='GMLLoss',
            sup_weight=1.0,
            con_weight=1.0,
            kd_weight=0.0,
            init_temperature=0.07)),
    # mmengine momentum = weight of the new parameters: MoCo's m = 0.999.
    momentum=0.001)
