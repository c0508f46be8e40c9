# Region Rebalance on DeepLabV3+ R-50 (a head the authors apply it to): the
# baseline's decode head unchanged plus the training-only region branch
# (one region per image and class present, cross-entropy balanced by the
# number of train images containing each class, from ADE20K's class table).
# The auxiliary FCN head and everything else are the baseline's; the metric
# keeps the pixel prior's rank groups.
_base_ = ['./deeplabv3plus-ce_r50-d8_4xb4-80k_ade20k-512x512.py']

model = dict(
    decode_head=dict(
        _delete_=True,
        type='RegionRebalanceHead',
        decoder={{_base_.model.decode_head}},
        prior=dict(type='ClassPrior', num_classes=150, file='ade20k',
                   count_type='image'),
        region_weight=1.0))
