# The long-tail metric for ADE20K, for configs that take mmseg's ADE20K data
# from an mmseg recipe (which brings its own val_evaluator, so this file
# cannot define that key beside it: a config sets
# ``val_evaluator = dict(_base_.ade20k_lt_evaluator, _delete_=True)``).
# The ADE20K prior shipped with mil_seg (mil_seg/priors/ade20k.json: pixel
# ratios and training images per class of objectInfo150.csv): pixel counts
# (the metric's head / body / tail groups, and the GML head and the losses
# that read a prior) and image counts (frequent / common / rare groups).
prior = dict(type='ClassPrior', num_classes=150, file='ade20k')
ade20k_lt_evaluator = dict(
    type='LongTailIoUMetric',
    iou_metrics=['mIoU'],
    prior=prior,
    # rank thirds (50 / 50 / 50 classes): the share split (0.5, 0.9) would
    # put 108 of ADE20K's 150 classes in the tail.
    group_by='rank',
    group_split=(1 / 3, 2 / 3),
    # frequent / common / rare by training images per class (the prior's
    # image_counts, the Train column of objectInfo150.csv), with LTSS's
    # rule: the 60 % of classes in the most training images frequent, the
    # next 20 % common, the last 20 % rare. LVIS's absolute thresholds
    # (rare: at most 10 images) would leave the rare group empty, as every
    # ADE20K class is in many more training images.
    frequency_groups=dict(group_by='rank', group_split=(0.6, 0.8)))
