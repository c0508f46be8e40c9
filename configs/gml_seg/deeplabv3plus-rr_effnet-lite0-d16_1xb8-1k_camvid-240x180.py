# CamVid, EfficientNet-Lite0 DeepLabV3+: Region Rebalance: the CE config's
# head unchanged plus the training-only region branch (regions of the
# decoder's stride-4 output, balanced by the image-count prior).
_base_ = ['./deeplabv3plus-ce_effnet-lite0-d16_1xb8-1k_camvid-240x180.py']

model = dict(
    decode_head=dict(
        _delete_=True,
        type='RegionRebalanceHead',
        decoder={{_base_.model.decode_head}},
        prior=dict(type='ClassPrior', num_classes=11, file='camvid',
                   count_type='image'),
        region_weight=1.0))
