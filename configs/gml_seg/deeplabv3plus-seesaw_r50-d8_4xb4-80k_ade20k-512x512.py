# Seesaw loss on pixels (CVPR 2021) on DeepLabV3+ R-50, at its authors' p
# 0.8 and q 2 (tuned on LVIS's 1203 classes), over ADE20K's 150 classes; its
# cumulative pixel counts start empty and count every training batch.
# Decode head only: see deeplabv3plus-lace_*.
_base_ = [
    './deeplabv3plus-ce_r50-d8_4xb4-80k_ade20k-512x512.py',
    '../_base_/losses/seesaw.py'
]

model = dict(
    decode_head=dict(loss_decode=dict(_base_.seesaw_loss, num_classes=150)))
