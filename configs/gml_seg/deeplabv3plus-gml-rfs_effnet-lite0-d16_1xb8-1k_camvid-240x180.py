# CamVid, EfficientNet-Lite0 DeepLabV3+: deeplabv3plus-gml_* trained on
# images drawn by repeat-factor sampling (LVIS): an image is repeated by the
# rarest class it contains, r = max(1, sqrt(t / f_c)) with f_c the fraction
# of training images that contain class c. Nearly every CamVid class is in
# most images, so t is near 1 here (LVIS's 0.001 would repeat nothing):
# threshold 0.9 repeats the images holding the classes present in the fewest
# images (fence, bicyclist).
_base_ = ['./deeplabv3plus-gml_effnet-lite0-d16_1xb8-1k_camvid-240x180.py']

train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='RepeatFactorDataset',
        dataset={{_base_.train_dataloader.dataset}},
        threshold=0.9))
