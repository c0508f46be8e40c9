# Synthetic long-tailed demo data (64x64, 8 classes, pixel shares ~ power
# law, imbalance 100). Generated on first use (auto_generate=True) into
# data_root, or beforehand with
#   python tools/dataset_converters/make_synthetic_lt.py data/synthetic_lt
# which also writes data_root/class_prior.json (train pixel counts).
dataset_type = 'SyntheticLTDataset'
data_root = 'data/synthetic_lt'
crop_size = (64, 64)
generate_cfg = dict(num_train=300, num_val=60, image_size=(64, 64), seed=0)
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    # no photometric distortion: colour is half of what defines a class
    dict(type='RandomFlip', prob=0.5, direction=['horizontal', 'vertical']),
    dict(type='PackSegInputs')
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadAnnotations'),
    dict(type='PackSegInputs')
]
train_dataloader = dict(
    batch_size=8,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type='InfiniteSampler', shuffle=True),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        auto_generate=True,
        generate_cfg=generate_cfg,
        data_prefix=dict(
            img_path='img_dir/train', seg_map_path='ann_dir/train'),
        pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=8,
    num_workers=1,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(
        type=dataset_type,
        data_root=data_root,
        auto_generate=True,
        generate_cfg=generate_cfg,
        data_prefix=dict(img_path='img_dir/val', seg_map_path='ann_dir/val'),
        pipeline=test_pipeline))
test_dataloader = val_dataloader

# groups (head / body / tail) from the train pixel counts written by the
# generator; per-class results also go to the work dir's log table.
val_evaluator = dict(
    type='LongTailIoUMetric',
    prior=data_root + '/class_prior.json',
    iou_metrics=['mIoU'])
test_evaluator = val_evaluator
