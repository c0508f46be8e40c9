# ADE20K (mmseg's dataset config) evaluated with head / body / tail groups
# from the shipped prior (mil_seg/priors/ade20k.json: pixel ratios of
# objectInfo150.csv) and frequent / common / rare groups from its image
# counts. With 150 classes the default share split (0.5, 0.9)
# would put 108 classes in the tail, so ADE20K uses rank thirds: the 50 most
# frequent classes are head, the next 50 body, the 50 rarest tail.
_base_ = 'mmseg::_base_/datasets/ade20k.py'
val_evaluator = dict(
    _delete_=True,
    type='LongTailIoUMetric',
    prior='ade20k',
    group_by='rank',
    group_split=(1 / 3, 2 / 3),
    # frequent / common / rare by training images per class (the prior's
    # image_counts, the Train column of objectInfo150.csv), with LTSS's
    # rule: the 60 % of classes in the most training images frequent, the
    # next 20 % common, the last 20 % rare. LVIS's absolute thresholds
    # (rare: at most 10 images) would leave the rare group empty, as every
    # ADE20K class is in many more training images.
    frequency_groups=dict(group_by='rank', group_split=(0.6, 0.8)))
test_evaluator = val_evaluator
