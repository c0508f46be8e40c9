# CCP, deeplabv3plus-gml_* trained on images drawn by repeat-factor sampling
# (LVIS): an image is repeated by the rarest class it contains,
# r = max(1, sqrt(t / f_c)) with f_c the fraction of training images that
# contain class c. LVIS's 0.001 would repeat nothing (a class in one of
# the 600 train images is in more than 0.1 % of them); threshold 0.03
# repeats the images holding the classes in fewer than 3 % of the train
# images, about the metric's common and rare classes (the frequent ones,
# the background, skin, hair and the usual garments, are in more).
_base_ = ['./deeplabv3plus-gml_r18-tiny-d8_1xb8-1k_ccp-183x277.py']

train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='RepeatFactorDataset',
        dataset={{_base_.train_dataloader.dataset}},
        threshold=0.03))
