# CamVid, online hard example mining (mmseg's OHEMPixelSampler): the CE
# baseline, its CE taken only on each batch's hard pixels.
_base_ = ['./fcn-ce_r18-tiny-d8_1xb8-1k_camvid-240x180.py']

model = dict(decode_head=dict(sampler={{_base_.ohem_sampler}}))
