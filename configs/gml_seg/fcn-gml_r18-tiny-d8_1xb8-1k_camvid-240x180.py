# CamVid, GML: the CE baseline's FCN head wrapped by GMLHead. Cost choices
# for CPU training: 64 anchors per image and a 2048-slot queue (11 classes)
# keep the contrastive term at ~10 % of a step (256 / 4096 cost ~40 % here).
_base_ = ['./fcn-ce_r18-tiny-d8_1xb8-1k_camvid-240x180.py']

model = dict(
    decode_head=dict(
        _delete_=True,
        type='GMLHead',
        decoder={{_base_.model.decode_head}},
        prior={{_base_.prior}},
        classifier_scale=30.0,
        embed_dim=64,
        queue_size=2048,
        queue_base_size=2,
        anchor_sampler=dict(
            type='ClassBalancedAnchorSampler', max_anchors_per_image=64),
        loss_gml=dict(sup_weight=1.0, con_weight=1.0, init_temperature=0.1)))
