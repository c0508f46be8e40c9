# Lovasz-Softmax (CVPR 2018; mmseg's LovaszLoss) added to the CE baseline's
# decode-head CE on DeepLabV3+ R-50: per_image=False, each present class's
# Jaccard over the batch (mmseg then requires reduction='none'); why added
# to CE rather than alone: _base_/losses/lovasz.py. Decode head only: see
# deeplabv3plus-lace_*.
_base_ = [
    './deeplabv3plus-ce_r50-d8_4xb4-80k_ade20k-512x512.py',
    '../_base_/losses/lovasz.py'
]

model = dict(
    decode_head=dict(loss_decode=[
        _base_.model.decode_head.loss_decode, _base_.lovasz_loss
    ]))
