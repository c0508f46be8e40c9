# GML single stage: ResNet-50, momentum key encoder, iNaturalist 2018, 100
# epochs (the paper's top-1 is in configs/gml_cls/README.md). The paper
# gives no queue settings for iNaturalist; ours: K 32768 with 2 slots per
# class at least (8142 classes), dim 1024, T_c 0.07 (the ImageNet-LT values
# otherwise).
_base_ = [
    '../_base_/datasets/cls_inat2018_3view.py',
    '../_base_/schedules/cls_inat2018_100e.py',
    '../_base_/cls_default_runtime.py'
]

model = dict(
    type='GMLClassifier',
    backbone=dict(type='ResNet', depth=50),
    neck=dict(type='GlobalAveragePooling'),
    head=dict(
        type='GMLClsHead',
        num_classes=8142,
        in_channels=2048,
        classifier_scale=30.0,  # 1 / T_s
        embed_dim=1024,
        queue=dict(size=32768, base_size=2),
        loss_gml=dict(
            type='GMLLoss',
            sup_weight=1.0,
            con_weight=1.0,
            kd_weight=0.0,
            init_temperature=0.07)),
    # mmengine momentum = weight of the new parameters: MoCo's m = 0.999.
    momentum=0.001)
