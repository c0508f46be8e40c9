# CamVid, GML on DeepLabV3+ with EfficientNet-Lite0: the CE config's head
# wrapped by GMLHead, with the settings of
# configs/_base_/models/gml_head_small.py (see it for why; not tuned on this
# model); anchors are drawn from the decoder's stride-4 features.
_base_ = [
    './deeplabv3plus-ce_effnet-lite0-d16_1xb8-1k_camvid-240x180.py',
    '../_base_/models/gml_head_small.py'
]

model = dict(
    decode_head=dict(
        _base_.gml_head,
        _delete_=True,
        decoder={{_base_.model.decode_head}},
        # The metric keeps the base prior (its groups do not use tau).
        prior=dict(type='ClassPrior', num_classes=11, file='camvid', tau=0.75),
    ))
