# CCP, GML: the CE baseline's FCN head wrapped by GMLHead, with the GMLHead
# settings of fcn-gml_r18-tiny-d8_1xb8-1k_camvid-240x180.py (chosen on
# CamVid's held-out split, not tuned on CCP: classifier scale 10, prior
# strength tau 0.75, 64 anchors per image, 32 base slots per class and at
# most 16 writes per class and step) but a 4096-slot queue: 59 classes x
# 32 base slots take 1888 of the slots, and the rest is shared by the
# prior, as in CamVid's 2048-slot queue, so the frequent classes still
# keep more keys than the tail.
_base_ = ['./fcn-ce_r18-tiny-d8_1xb8-1k_ccp-183x277.py']

model = dict(
    decode_head=dict(
        _delete_=True,
        type='GMLHead',
        decoder={{_base_.model.decode_head}},
        # The metric keeps the base prior (its groups do not use tau).
        prior=dict(type='ClassPrior', num_classes=59, file='ccp', tau=0.75),
        classifier_scale=10.0,
        embed_dim=64,
        queue=dict(size=4096, base_size=32, max_writes_per_class=16),
        anchor_sampler=dict(
            type='ClassBalancedAnchorSampler', max_anchors_per_image=64),
        loss_gml=dict(
            type='GMLLoss',
            sup_weight=1.0,
            con_weight=1.0,
            init_temperature=0.1)))
