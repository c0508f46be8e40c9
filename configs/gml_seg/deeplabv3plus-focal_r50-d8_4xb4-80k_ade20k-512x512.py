# Focal loss (ICCV 2017; mmseg's FocalLoss) on DeepLabV3+ R-50: one sigmoid
# binary problem per class at the paper's gamma 2 and alpha 0.25, loss_weight
# the number of classes (_base_/losses/focal.py says why: without it the
# loss, and so this recipe's SGD step on it, is 1/150 of the paper's
# normalisation). Decode head only: see deeplabv3plus-lace_*.
_base_ = [
    './deeplabv3plus-ce_r50-d8_4xb4-80k_ade20k-512x512.py',
    '../_base_/losses/focal.py'
]

model = dict(
    decode_head=dict(loss_decode=dict(_base_.focal_loss, loss_weight=150.0)))
