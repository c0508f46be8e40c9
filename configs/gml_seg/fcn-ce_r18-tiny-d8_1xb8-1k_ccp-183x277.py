# Clothing Co-Parsing (59 classes) from scratch on CPU, cross-entropy: the
# tiny FCN, schedule and batch of
# fcn-ce_r18-tiny-d8_1xb8-1k_camvid-240x180.py on CCP at about 183x277
# (_base_/datasets/ccp_183x277.py: data, train prior, long-tail metric).
# The other methods' CCP configs are its children, as on CamVid.
_base_ = [
    '../_base_/models/tiny_fcn_camvid.py',
    '../_base_/datasets/ccp_183x277.py',
    '../_base_/schedules/seg_tiny_1k.py', 'mmseg::_base_/default_runtime.py'
]
custom_imports = dict(imports=['mil_seg'], allow_failed_imports=False)
crop_size = (277, 183)
data_preprocessor = dict(size=crop_size)
model = dict(
    data_preprocessor=data_preprocessor, decode_head=dict(num_classes=59))

train_dataloader = dict(batch_size=8, num_workers=2)
val_dataloader = dict(batch_size=1, num_workers=2)
test_dataloader = val_dataloader
