# CIFAR-10-LT JPEG folders with three views per training image for GML:
# [classification, query, key].
_base_ = ['./cls_cifar10_lt_folder.py']

view_pipeline = _base_.view_pipeline
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='MultiView', num_views=3, transforms=[view_pipeline]),
    dict(type='PackInputs'),
]
train_dataloader = dict(dataset=dict(dataset=dict(pipeline=train_pipeline)))
