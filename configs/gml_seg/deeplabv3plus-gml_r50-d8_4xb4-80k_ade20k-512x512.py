# GML on DeepLabV3+ R-50: the baseline's decode head wrapped by GMLHead
# (cosine classifier + logit-adjusted CE + pixel contrastive term with a
# class-balanced queue). Everything else is the baseline's.
_base_ = ['./deeplabv3plus-ce_r50-d8_4xb4-80k_ade20k-512x512.py']

model = dict(
    decode_head=dict(
        _delete_=True,
        type='GMLHead',
        decoder={{_base_.model.decode_head}},
        prior={{_base_.prior}},
        classifier_scale=30.0,
        embed_dim=128,
        # 128 anchors/image and K=8192 instead of the head's 256 / 16384:
        # chosen for the step cost against CE at 512x512 with --amp on a GPU
        # (results/seg-step-cost-h200.json, in results/README.md).
        queue=dict(size=8192, base_size=2),
        anchor_sampler=dict(
            type='ClassBalancedAnchorSampler', max_anchors_per_image=128),
        loss_gml=dict(
            type='GMLLoss',
            sup_weight=1.0,
            con_weight=1.0,
            init_temperature=0.1)))
