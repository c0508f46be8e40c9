# CamVid, EfficientNet-Lite0 DeepLabV3+: logit-adjusted cross-entropy on the
# CE config's head; inference stays prior-free.
_base_ = [
    './deeplabv3plus-ce_effnet-lite0-d16_1xb8-1k_camvid-240x180.py',
    '../_base_/losses/lace.py'
]

model = dict(
    decode_head=dict(
        loss_decode=dict(_base_.logit_adjusted_ce_loss, prior=_base_.prior)))
