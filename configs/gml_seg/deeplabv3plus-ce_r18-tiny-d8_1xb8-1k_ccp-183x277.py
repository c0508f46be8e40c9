# CCP from scratch on CPU, cross-entropy: the tiny FCN baseline's backbone,
# data and schedule with the tiny DeepLabV3+ head (decoder at stride 4).
_base_ = [
    './fcn-ce_r18-tiny-d8_1xb8-1k_ccp-183x277.py',
    '../_base_/models/tiny_deeplabv3plus_head_camvid.py'
]

model = dict(decode_head=dict(_base_.deeplabv3plus_head, num_classes=59))
