# gml-ema_resnet32_1xb128-200e_cifar100lt-r100.py with imbalance factor 10.
_base_ = ['./gml-ema_resnet32_1xb128-200e_cifar100lt-r100.py']

train_dataloader = dict(dataset=dict(imbalance_factor=10))
