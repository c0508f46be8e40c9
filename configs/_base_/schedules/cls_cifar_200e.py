# GML CIFAR-LT schedule: SGD lr 0.1, momentum 0.9, wd 5e-4, batch 128,
# 200 epochs, linear warm-up 5 epochs, x0.1 at epochs 160 and 180.
optim_wrapper = dict(
    optimizer=dict(type='SGD', lr=0.1, momentum=0.9, weight_decay=5e-4),
    # The GML temperature is never weight-decayed.
    paramwise_cfg=dict(
        custom_keys={'log_temperature': dict(decay_mult=0.0)}))

param_scheduler = [
    dict(
        type='LinearLR',
        start_factor=0.01,
        by_epoch=True,
        begin=0,
        end=5,
        convert_to_iter_based=True),
    dict(
        type='MultiStepLR', by_epoch=True, milestones=[160, 180], gamma=0.1),
]

train_cfg = dict(by_epoch=True, max_epochs=200, val_interval=10)
val_cfg = dict()
test_cfg = dict()

auto_scale_lr = dict(base_batch_size=128)
