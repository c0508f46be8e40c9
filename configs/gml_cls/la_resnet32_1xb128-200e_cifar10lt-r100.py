# Baseline: logit-adjusted cross-entropy (prior from the training counts),
# ResNet-32, CIFAR-10-LT (JPEG folders), imbalance 100. One change from the CE
# config.
_base_ = ['./ce_resnet32_1xb128-200e_cifar10lt-r100.py']

model = dict(
    head=dict(
        loss=dict(
            _delete_=True, type='LogitAdjustedCELoss', num_classes=10)))
