# CamVid, online hard example mining on the tiny DeepLabV3+ (the sampler of
# fcn-ohem_*).
_base_ = ['./deeplabv3plus-ce_r18-tiny-d8_1xb8-1k_camvid-240x180.py']

model = dict(decode_head=dict(sampler={{_base_.ohem_sampler}}))
