# CamVid, online hard example mining on the tiny DeepLabV3+ (the sampler of
# fcn-ohem_*).
_base_ = [
    './deeplabv3plus-ce_r18-tiny-d8_1xb8-1k_camvid-240x180.py',
    '../_base_/losses/ohem.py'
]

# min_kept: 8000 of a 240x180 crop's 43200 pixels (about a fifth, as
# _base_/losses/ohem.py says), so at least 64000 of a batch of 8.
model = dict(
    decode_head=dict(sampler=dict(_base_.ohem_sampler, min_kept=8000)))
