# CIFAR-100-LT with three views per training image for GML:
# [classification, query, key], each with the CIFAR recipe.
_base_ = ['./cls_cifar100_lt.py']

view_pipeline = _base_.view_pipeline
train_pipeline = [
    dict(type='MultiView', num_views=3, transforms=[view_pipeline]),
    dict(type='PackInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
