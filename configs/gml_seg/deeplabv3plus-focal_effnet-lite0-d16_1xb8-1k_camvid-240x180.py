# CamVid, EfficientNet-Lite0 DeepLabV3+: focal loss (ICCV 2017; mmseg's
# FocalLoss) on the CE config's head.
_base_ = [
    './deeplabv3plus-ce_effnet-lite0-d16_1xb8-1k_camvid-240x180.py',
    '../_base_/losses/focal.py'
]

# loss_weight: the number of classes (_base_/losses/focal.py says why).
model = dict(
    decode_head=dict(loss_decode=dict(_base_.focal_loss, loss_weight=11.0)))
