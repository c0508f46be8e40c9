# iNaturalist 2018 schedule: the ImageNet-LT one (SGD lr 0.05, wd 5e-4,
# batch 128, cosine) over 100 epochs. The paper gives only the epochs.
_base_ = ['./cls_imagenet_lt_90e.py']

param_scheduler = dict(
    type='CosineAnnealingLR', by_epoch=True, T_max=100, eta_min=0.0)
train_cfg = dict(by_epoch=True, max_epochs=100, val_interval=5)
