# Cross-entropy baseline of the UperNet Swin-T pair: mmseg's recipe unchanged
# (AdamW schedule (160k iterations, 8 GPUs x 2 images)), evaluated with the long-tail metric. The GML config inherits
# this file, so both share every setting but the decode head.
_base_ = [
    'mmseg::swin/swin-tiny-patch4-window7-in1k-pre_upernet_8xb2-160k_ade20k-512x512.py',
    '../_base_/datasets/ade20k_lt.py'
]
custom_imports = dict(imports=['mil_seg'], allow_failed_imports=False)

# GML's per-class temperature must not be weight-decayed (the longest
# matching key wins, so this also beats the recipe's 'head' / 'norm' keys).
optim_wrapper = dict(
    paramwise_cfg=dict(
        custom_keys={'log_temperature': dict(decay_mult=0.0)}))

# mmseg's ADE20K data, the long-tail metric of _base_/datasets/ade20k_lt.py
# (with its prior) in place of the recipe's IoUMetric.
val_evaluator = dict(_base_.ade20k_lt_evaluator, _delete_=True)
test_evaluator = val_evaluator
