# CCP, focal loss (ICCV 2017; mmseg's FocalLoss): the CE baseline's
# linear head with one sigmoid focal binary problem per class, so easy
# pixels, mostly of the frequent classes, weigh less.
_base_ = [
    './fcn-ce_r18-tiny-d8_1xb8-1k_ccp-183x277.py',
    '../_base_/losses/focal.py'
]

# loss_weight: the number of classes (_base_/losses/focal.py says why).
model = dict(
    decode_head=dict(loss_decode=dict(_base_.focal_loss, loss_weight=59.0)))
