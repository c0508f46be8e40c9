# The tiny DeepLabV3+ head for the CamVid segmentor of tiny_fcn_camvid.py:
# ASPP on the stride-8 features (dilations for a 30x23 map) and a decoder
# that fuses the stride-4 features of the first stage, so thin classes
# (pole, sign) keep pixels of their own in the decoder's output. A child
# config puts it in place of the FCN head (``_delete_`` drops the FCN keys).
deeplabv3plus_head = dict(
    _delete_=True,
    type='DepthwiseSeparableASPPHead',
    in_channels=128,
    in_index=3,
    channels=64,
    dilations=(1, 3, 6, 9),
    c1_in_channels=16,
    c1_channels=16,
    dropout_ratio=0.1,
    num_classes=11,
    norm_cfg=dict(type='BN', requires_grad=True),
    align_corners=False,
    loss_decode=dict(
        type='CrossEntropyLoss',
        use_sigmoid=False,
        avg_non_ignore=True,
        loss_weight=1.0))
