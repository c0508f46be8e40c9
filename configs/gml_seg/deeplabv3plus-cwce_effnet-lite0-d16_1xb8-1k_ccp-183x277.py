# CCP, EfficientNet-Lite0 DeepLabV3+: class-weighted cross-entropy: the CE
# config's head, each pixel weighted by its class's inverse prior.
_base_ = [
    './deeplabv3plus-ce_effnet-lite0-d16_1xb8-1k_ccp-183x277.py',
    '../_base_/losses/cwce.py'
]

model = dict(
    decode_head=dict(
        loss_decode=dict(_base_.class_weighted_ce_loss, prior=_base_.prior)))
