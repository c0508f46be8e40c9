# CCP, logit-adjusted cross-entropy: the CE baseline's linear FCN head
# with CE(logits + log pi) as its loss; inference stays prior-free.
_base_ = [
    './fcn-ce_r18-tiny-d8_1xb8-1k_ccp-183x277.py',
    '../_base_/losses/lace.py'
]

model = dict(
    decode_head=dict(
        loss_decode=dict(_base_.logit_adjusted_ce_loss, prior=_base_.prior)))
