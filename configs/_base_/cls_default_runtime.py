# Runtime shared by the classification (MMPretrain) configs of mil_seg.
_base_ = 'mmpretrain::_base_/default_runtime.py'

# Import the package: registers GML modules, LT datasets and the metric.
custom_imports = dict(imports=['mil_seg'], allow_failed_imports=False)
default_scope = 'mmpretrain'

default_hooks = dict(
    logger=dict(type='LoggerHook', interval=50),
    # Keep the last checkpoints and the best by top-1.
    checkpoint=dict(
        type='CheckpointHook',
        interval=10,
        max_keep_ckpts=2,
        save_best='lt/top1',
        rule='greater'))

# Fills the class prior (loss, queue) and the many/medium/few metric from
# the training dataset's per-class counts; a checkpoint then carries them.
custom_hooks = [dict(type='ClassCountsHook')]
