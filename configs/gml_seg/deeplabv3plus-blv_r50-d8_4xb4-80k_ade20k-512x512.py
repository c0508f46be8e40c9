# Balancing Logit Variation (BLV, CVPR 2023) on DeepLabV3+ R-50: training
# logits plus noise scaled by each class's -log prior (read from the ADE20K
# prior, so 150 classes need no other setting). sigma 4 is the value of
# every config the authors released (they released none for ADE20K). Decode
# head only, as in their configs: see deeplabv3plus-lace_*.
_base_ = [
    './deeplabv3plus-ce_r50-d8_4xb4-80k_ade20k-512x512.py',
    '../_base_/losses/blv.py'
]

model = dict(
    decode_head=dict(loss_decode=dict(_base_.blv_loss, prior=_base_.prior)))
