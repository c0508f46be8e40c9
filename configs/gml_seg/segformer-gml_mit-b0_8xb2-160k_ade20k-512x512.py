# GML on SegFormer MiT-B0: the baseline's decode head wrapped by GMLHead
# (cosine classifier + logit-adjusted CE + pixel contrastive term with a
# class-balanced queue). Everything else is the baseline's.
_base_ = ['./segformer-ce_mit-b0_8xb2-160k_ade20k-512x512.py']

model = dict(
    decode_head=dict(
        _delete_=True,
        type='GMLHead',
        decoder={{_base_.model.decode_head}},
        prior={{_base_.prior}},
        classifier_scale=30.0,
        embed_dim=128,
        queue=dict(size=16384, base_size=2),
        anchor_sampler=dict(
            type='ClassBalancedAnchorSampler', max_anchors_per_image=256),
        loss_gml=dict(
            type='GMLLoss',
            sup_weight=1.0,
            con_weight=1.0,
            init_temperature=0.1)))
