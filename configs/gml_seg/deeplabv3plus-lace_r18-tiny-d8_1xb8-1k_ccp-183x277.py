# CCP, logit-adjusted cross-entropy on the tiny DeepLabV3+ (the loss of
# fcn-lace_*).
_base_ = [
    './deeplabv3plus-ce_r18-tiny-d8_1xb8-1k_ccp-183x277.py',
    '../_base_/losses/lace.py'
]

model = dict(
    decode_head=dict(
        loss_decode=dict(_base_.logit_adjusted_ce_loss, prior=_base_.prior)))
