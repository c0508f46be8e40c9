# CCP, EfficientNet-Lite0 DeepLabV3+: online hard example mining on the CE
# config's head (mmseg's OHEMPixelSampler).
_base_ = [
    './deeplabv3plus-ce_effnet-lite0-d16_1xb8-1k_ccp-183x277.py',
    '../_base_/losses/ohem.py'
]

# min_kept: 10000 of a 183x277 crop's 50691 pixels (about a fifth, as
# _base_/losses/ohem.py says), so at least 80000 of a batch of 8.
model = dict(
    decode_head=dict(sampler=dict(_base_.ohem_sampler, min_kept=10000)))
