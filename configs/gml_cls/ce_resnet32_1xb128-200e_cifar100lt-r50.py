# ce_resnet32_1xb128-200e_cifar100lt-r100.py with imbalance factor 50.
_base_ = ['./ce_resnet32_1xb128-200e_cifar100lt-r100.py']

train_dataloader = dict(dataset=dict(imbalance_factor=50))
