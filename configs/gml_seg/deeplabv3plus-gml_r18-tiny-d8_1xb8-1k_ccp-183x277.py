# CCP, GML on the tiny DeepLabV3+: fcn-gml_* (same GMLHead settings) with
# the DeepLabV3+ head as its decoder; anchors are drawn from the decoder's
# stride-4 features.
_base_ = [
    './fcn-gml_r18-tiny-d8_1xb8-1k_ccp-183x277.py',
    '../_base_/models/tiny_deeplabv3plus_head_camvid.py'
]

model = dict(
    decode_head=dict(
        decoder=dict(_base_.deeplabv3plus_head, num_classes=59)))
