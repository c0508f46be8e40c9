# CCP, online hard example mining on the tiny DeepLabV3+ (the sampler of
# fcn-ohem_*).
_base_ = [
    './deeplabv3plus-ce_r18-tiny-d8_1xb8-1k_ccp-183x277.py',
    '../_base_/losses/ohem.py'
]

# min_kept: 10000 of a 183x277 crop's 50691 pixels (about a fifth, as
# _base_/losses/ohem.py says), so at least 80000 of a batch of 8.
model = dict(
    decode_head=dict(sampler=dict(_base_.ohem_sampler, min_kept=10000)))
