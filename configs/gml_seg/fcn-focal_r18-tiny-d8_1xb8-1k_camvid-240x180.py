# CamVid, focal loss (ICCV 2017; mmseg's FocalLoss): the CE baseline's
# linear head with one sigmoid focal binary problem per class, so easy
# pixels, mostly of the frequent classes, weigh less.
_base_ = ['./fcn-ce_r18-tiny-d8_1xb8-1k_camvid-240x180.py']

model = dict(decode_head=dict(loss_decode={{_base_.focal_loss}}))
