# GML ImageNet-LT schedule: SGD lr 0.05, momentum 0.9, wd 5e-4, batch 128,
# cosine decay over 90 epochs.
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.05, momentum=0.9, weight_decay=5e-4),
    # The GML temperature is never weight-decayed.
    paramwise_cfg=dict(
        custom_keys={'log_temperature': dict(decay_mult=0.0)}))

param_scheduler = dict(
    type='CosineAnnealingLR', by_epoch=True, T_max=90, eta_min=0.0)

train_cfg = dict(by_epoch=True, max_epochs=90, val_interval=5)
val_cfg = dict()
test_cfg = dict()

auto_scale_lr = dict(base_batch_size=128)
