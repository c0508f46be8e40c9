# CCP, Region Rebalance on the tiny DeepLabV3+ head: the CE baseline's
# head unchanged plus the training-only region branch of
# fcn-rr_r18-tiny-d8_1xb8-1k_ccp-183x277.py (regions of the decoder's
# stride-4 output, balanced by the image-count prior).
_base_ = ['./deeplabv3plus-ce_r18-tiny-d8_1xb8-1k_ccp-183x277.py']

model = dict(
    decode_head=dict(
        _delete_=True,
        type='RegionRebalanceHead',
        decoder={{_base_.model.decode_head}},
        prior=dict(type='ClassPrior', num_classes=59, file='ccp',
                   count_type='image'),
        region_weight=1.0))
