# CamVid, EfficientNet-Lite0 DeepLabV3+: Balancing Logit Variation (BLV, CVPR
# 2023): the CE config's head trained on logits plus class-scaled noise;
# prediction uses the plain logits.
_base_ = [
    './deeplabv3plus-ce_effnet-lite0-d16_1xb8-1k_camvid-240x180.py',
    '../_base_/losses/blv.py'
]

model = dict(
    decode_head=dict(loss_decode=dict(_base_.blv_loss, prior=_base_.prior)))
