# CamVid, GML on DeepLabV3+ with EfficientNet-Lite0: the CE config's head
# wrapped by GMLHead, with the GMLHead settings of the tiny
# fcn-gml_r18-tiny-d8_1xb8-1k_camvid-240x180.py (see it for why; not
# tuned on this model); anchors are drawn from the decoder's stride-4
# features.
_base_ = ['./deeplabv3plus-ce_effnet-lite0-d16_1xb8-1k_camvid-240x180.py']

model = dict(
    decode_head=dict(
        _delete_=True,
        type='GMLHead',
        decoder={{_base_.model.decode_head}},
        # The metric keeps the base prior (its groups do not use tau).
        prior=dict(type='ClassPrior', num_classes=11, file='camvid', tau=0.75),
        classifier_scale=10.0,
        embed_dim=64,
        queue=dict(size=2048, base_size=32, max_writes_per_class=16),
        anchor_sampler=dict(
            type='ClassBalancedAnchorSampler', max_anchors_per_image=64),
        loss_gml=dict(
            type='GMLLoss',
            sup_weight=1.0,
            con_weight=1.0,
            init_temperature=0.1)))
