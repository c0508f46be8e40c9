# Class-weighted cross-entropy on DeepLabV3+ R-50: each pixel weighted by
# its class's inverse ADE20K prior (exponent 1, as on CamVid; the weights
# have mean 1 over the classes). Decode head only: see
# deeplabv3plus-lace_*.
_base_ = [
    './deeplabv3plus-ce_r50-d8_4xb4-80k_ade20k-512x512.py',
    '../_base_/losses/cwce.py'
]

model = dict(
    decode_head=dict(
        loss_decode=dict(_base_.class_weighted_ce_loss, prior=_base_.prior)))
