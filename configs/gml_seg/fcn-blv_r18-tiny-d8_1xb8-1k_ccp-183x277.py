# CCP, Balancing Logit Variation (BLV, CVPR 2023): the CE baseline's
# linear head trained on logits plus class-scaled noise; prediction uses
# the plain logits.
_base_ = [
    './fcn-ce_r18-tiny-d8_1xb8-1k_ccp-183x277.py',
    '../_base_/losses/blv.py'
]

model = dict(
    decode_head=dict(loss_decode=dict(_base_.blv_loss, prior=_base_.prior)))
