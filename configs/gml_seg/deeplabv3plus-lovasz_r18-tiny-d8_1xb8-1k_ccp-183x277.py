# CCP, CE + Lovasz-Softmax on the tiny DeepLabV3+ (the losses of
# fcn-lovasz_*).
_base_ = [
    './deeplabv3plus-ce_r18-tiny-d8_1xb8-1k_ccp-183x277.py',
    '../_base_/losses/lovasz.py'
]

model = dict(
    decode_head=dict(loss_decode=[
        _base_.model.decode_head.loss_decode, _base_.lovasz_loss
    ]))
