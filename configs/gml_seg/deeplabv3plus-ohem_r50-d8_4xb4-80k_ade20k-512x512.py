# Online hard example mining (mmseg's OHEMPixelSampler) on DeepLabV3+ R-50:
# the CE baseline's decode-head CE only on pixels whose ground-truth
# probability is below 0.7, and at least min_kept x batch size of the
# hardest. min_kept keeps about the share of a crop that mmseg's DeepLabV3+
# OHEM configs keep (100000 of 512x1024, about a fifth): 50000 of a
# 512x512 crop's 262144 pixels. Decode head only: see deeplabv3plus-lace_*.
_base_ = [
    './deeplabv3plus-ce_r50-d8_4xb4-80k_ade20k-512x512.py',
    '../_base_/losses/ohem.py'
]

model = dict(
    decode_head=dict(sampler=dict(_base_.ohem_sampler, min_kept=50000)))
