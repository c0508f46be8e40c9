# CamVid from scratch on CPU, cross-entropy baseline of three variants that
# share this file's model, data and schedule:
#   fcn-ce_*   plain cross-entropy (this file)
#   fcn-lace_* logit-adjusted cross-entropy (same linear head)
#   fcn-gml_*  the FCN head wrapped by GMLHead
# (the other baselines take their loss from configs/_base_/losses/).
# The data, the train prior and the long-tail metric: _base_/datasets/.
# 1000 iterations of 8 images at 240x180, sized for training on a CPU
# (_base_/schedules/seg_tiny_1k.py).
_base_ = [
    '../_base_/models/tiny_fcn_camvid.py',
    '../_base_/datasets/camvid_240x180.py',
    '../_base_/schedules/seg_tiny_1k.py', 'mmseg::_base_/default_runtime.py'
]
custom_imports = dict(imports=['mil_seg'], allow_failed_imports=False)
crop_size = (180, 240)
data_preprocessor = dict(size=crop_size)
model = dict(data_preprocessor=data_preprocessor)

train_dataloader = dict(batch_size=8, num_workers=2)
val_dataloader = dict(batch_size=1, num_workers=2)
test_dataloader = val_dataloader
