# CamVid from scratch on CPU, cross-entropy: the tiny FCN baseline's backbone,
# data and schedule with a tiny DeepLabV3+ head (decoder at stride 4).
_base_ = [
    './fcn-ce_r18-tiny-d8_1xb8-1k_camvid-240x180.py',
    '../_base_/models/tiny_deeplabv3plus_head_camvid.py'
]

model = dict(decode_head={{_base_.deeplabv3plus_head}})
