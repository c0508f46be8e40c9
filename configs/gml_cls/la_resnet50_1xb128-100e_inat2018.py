# Baseline: logit-adjusted cross-entropy, ResNet-50, iNaturalist 2018.
_base_ = ['./ce_resnet50_1xb128-100e_inat2018.py']

model = dict(
    head=dict(
        loss=dict(
            _delete_=True, type='LogitAdjustedCELoss', num_classes=8142)))
