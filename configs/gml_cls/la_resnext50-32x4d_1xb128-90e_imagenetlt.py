# Baseline: logit-adjusted cross-entropy, ResNeXt-50 32x4d, ImageNet-LT.
_base_ = ['./ce_resnext50-32x4d_1xb128-90e_imagenetlt.py']

model = dict(
    head=dict(
        loss=dict(
            _delete_=True, type='LogitAdjustedCELoss', num_classes=1000)))
