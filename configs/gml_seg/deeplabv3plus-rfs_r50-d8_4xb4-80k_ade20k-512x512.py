# ADE20K, deeplabv3plus-ce_* trained on images drawn by repeat-factor
# sampling (LVIS): an image is repeated by the rarest class it contains,
# r = max(1, sqrt(t / f_c)), f_c the fraction of training images that
# contain class c. t = 0.01 repeats the images of the classes found in fewer
# than 1 % of ADE20K's training images (LVIS's 0.001 is below every ADE20K
# class's image fraction, so it would repeat nothing). Building the wrapper
# reads every training label map once.
_base_ = ['./deeplabv3plus-ce_r50-d8_4xb4-80k_ade20k-512x512.py']

train_dataloader = dict(
    dataset=dict(
        _delete_=True,
        type='RepeatFactorDataset',
        dataset={{_base_.train_dataloader.dataset}},
        threshold=0.01))
