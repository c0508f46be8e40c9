# CamVid, EfficientNet-Lite0 DeepLabV3+: class-weighted cross-entropy at
# cross-entropy's loss scale. The weights of deeplabv3plus-cwce_* normalised
# to mean 1 under the training prior (sum_c pi_c w_c = 1), and the weighted
# sum divided by the number of pixels, as MMSegmentation's CrossEntropyLoss
# with class_weight averages, instead of by the summed weights (the weighted
# mean, which renormalises every batch). Everything else is
# deeplabv3plus-cwce_*'s.
_base_ = ['./deeplabv3plus-cwce_effnet-lite0-d16_1xb8-1k_camvid-240x180.py']

model = dict(
    decode_head=dict(loss_decode=dict(normalize='prior', average='samples')))
