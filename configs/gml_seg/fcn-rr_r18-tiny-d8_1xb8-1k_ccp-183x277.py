# CCP, Region Rebalance (Cui et al., arXiv 2204.01969): the CE baseline's
# FCN head with its own classifier, loss and predictions unchanged, plus a
# training-only branch that classifies one region feature per (image, class
# present), the mean of the class's decoder features, with cross-entropy
# balanced by the log prior. The prior counts the train images containing
# each class (the region frequency, as the authors'), not pixels; the
# metric keeps the base config's pixel prior for its head / body / tail
# groups. Weight 1 and the frozen branch are the authors' settings.
_base_ = ['./fcn-ce_r18-tiny-d8_1xb8-1k_ccp-183x277.py']

model = dict(
    decode_head=dict(
        _delete_=True,
        type='RegionRebalanceHead',
        decoder={{_base_.model.decode_head}},
        prior=dict(type='ClassPrior', num_classes=59, file='ccp',
                   count_type='image'),
        region_weight=1.0))
