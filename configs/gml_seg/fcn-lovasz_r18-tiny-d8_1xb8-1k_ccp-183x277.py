# CCP, Lovasz-Softmax (CVPR 2018; mmseg's LovaszLoss) added to the CE
# baseline's CE: a surrogate of each class's IoU over the batch, in which
# every class counts alike.
_base_ = [
    './fcn-ce_r18-tiny-d8_1xb8-1k_ccp-183x277.py',
    '../_base_/losses/lovasz.py'
]

model = dict(
    decode_head=dict(loss_decode=[
        _base_.model.decode_head.loss_decode, _base_.lovasz_loss
    ]))
