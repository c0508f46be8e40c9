# CamVid, EfficientNet-Lite0 DeepLabV3+: Seesaw loss on pixels (CVPR 2021) on
# the CE config's head.
_base_ = [
    './deeplabv3plus-ce_effnet-lite0-d16_1xb8-1k_camvid-240x180.py',
    '../_base_/losses/seesaw.py'
]

model = dict(
    decode_head=dict(loss_decode=dict(_base_.seesaw_loss, num_classes=11)))
