# CCP, GML: the CE baseline's FCN head wrapped by GMLHead, with the
# settings of configs/_base_/models/gml_head_small.py (see it for why) but a
# 4096-slot queue: 59 classes x 32 base slots take 1888 of the slots, and
# the rest is shared by the prior, as in CamVid's 2048-slot queue, so the
# frequent classes still keep more keys than the tail.
_base_ = [
    './fcn-ce_r18-tiny-d8_1xb8-1k_ccp-183x277.py',
    '../_base_/models/gml_head_small.py'
]

model = dict(
    decode_head=dict(
        _base_.gml_head,
        _delete_=True,
        decoder={{_base_.model.decode_head}},
        # The metric keeps the base prior (its groups do not use tau).
        prior=dict(type='ClassPrior', num_classes=59, file='ccp', tau=0.75),
        queue=dict(size=4096, base_size=32, max_writes_per_class=16),
    ))
