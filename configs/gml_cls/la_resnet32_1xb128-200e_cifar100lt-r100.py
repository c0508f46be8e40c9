# Baseline: logit-adjusted cross-entropy (prior from the training counts),
# ResNet-32, CIFAR-100-LT, imbalance 100. One change from the CE config.
_base_ = ['./ce_resnet32_1xb128-200e_cifar100lt-r100.py']

model = dict(
    head=dict(
        loss=dict(
            _delete_=True, type='LogitAdjustedCELoss', num_classes=100)))
