# CamVid, cross-entropy, DeepLabV3+ on EfficientNet-Lite0 with its ImageNet
# weights (_base_/models/deeplabv3plus_effnet-lite0-d16.py says why output
# stride 16 and this head): the data, batch and schedule of the tiny
# configs (*_r18-tiny-d8_1xb8-1k_camvid-240x180.py), the pretrained
# backbone at a tenth of the head's learning rate (fine-tuned, not trained
# from scratch).
# The other methods' configs on this model are its children.
_base_ = [
    '../_base_/models/deeplabv3plus_effnet-lite0-d16.py',
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

optim_wrapper = dict(
    paramwise_cfg=dict(custom_keys={'backbone': dict(lr_mult=0.1)}))
