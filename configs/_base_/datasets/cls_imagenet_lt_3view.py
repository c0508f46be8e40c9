# ImageNet-LT with three views for GML: [classification, query, key]; the
# two contrastive views also get grayscale (p 0.2) and Gaussian blur (p 0.5).
_base_ = ['./cls_imagenet_lt.py']

view_pipeline = _base_.view_pipeline
contrast_pipeline = view_pipeline + [
    dict(
        type='RandomGrayscale',
        prob=0.2,
        keep_channels=True,
        channel_weights=(0.114, 0.587, 0.2989)),
    dict(
        type='GaussianBlur',
        magnitude_range=(0.1, 2.0),
        magnitude_std='inf',
        prob=0.5),
]
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(
        type='MultiView',
        num_views=[1, 2],
        transforms=[view_pipeline, contrast_pipeline]),
    dict(type='PackInputs'),
]
train_dataloader = dict(dataset=dict(pipeline=train_pipeline))
