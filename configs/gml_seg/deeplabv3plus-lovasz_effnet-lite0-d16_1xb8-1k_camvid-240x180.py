# CamVid, EfficientNet-Lite0 DeepLabV3+: CE + Lovasz-Softmax on the CE
# config's head.
_base_ = [
    './deeplabv3plus-ce_effnet-lite0-d16_1xb8-1k_camvid-240x180.py',
    '../_base_/losses/lovasz.py'
]

model = dict(
    decode_head=dict(loss_decode=[
        _base_.model.decode_head.loss_decode, _base_.lovasz_loss
    ]))
