# Demo: the tiny FCN of demo_ce_tiny_1xb8-1k_synthetic-lt-64x64.py trained
# with the GML head (logit-adjusted cosine classifier + class-balanced pixel
# contrastive terms) instead of cross-entropy. Same data, schedule and
# metric, so the two logs compare mIoU_head / mIoU_body / mIoU_tail directly.
_base_ = ['./demo_ce_tiny_1xb8-1k_synthetic-lt-64x64.py']
fcn_decoder = {{_base_.model.decode_head}}
model = dict(
    decode_head=dict(
        _delete_=True,
        type='GMLHead',
        decoder=fcn_decoder,
        # online prior: pixel counts accumulated from the training labels,
        # so the demo needs no prior file at model build time (the data is
        # generated when the dataloaders are built). With the data generated
        # beforehand (tools/dataset_converters/make_synthetic_lt.py), a fixed
        # prior is dict(type='ClassPrior',
        #               file='data/synthetic_lt/class_prior.json').
        prior=dict(type='ClassPrior', mode='online'),
        embed_dim=64,
        queue=dict(size=4096),
        anchor_sampler=dict(
            type='ClassBalancedAnchorSampler', max_anchors_per_image=64)))
