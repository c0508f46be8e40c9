# CamVid, EfficientNet-Lite0 DeepLabV3+: online hard example mining on the CE
# config's head (mmseg's OHEMPixelSampler).
_base_ = [
    './deeplabv3plus-ce_effnet-lite0-d16_1xb8-1k_camvid-240x180.py',
    '../_base_/losses/ohem.py'
]

# min_kept: 8000 of a 240x180 crop's 43200 pixels (about a fifth, as
# _base_/losses/ohem.py says), so at least 64000 of a batch of 8.
model = dict(
    decode_head=dict(sampler=dict(_base_.ohem_sampler, min_kept=8000)))
