# iNaturalist 2018 (8142 species) from its public split lists
# (iNaturalist18_{train,val}.txt, "path label" per line), one view; the
# ImageNet-LT pipelines.
_base_ = ['./cls_imagenet_lt.py']

num_classes = 8142
data_root = 'data/inat2018'
data_preprocessor = dict(num_classes=num_classes)

train_dataloader = dict(
    dataset=dict(
        type='INaturalist2018',
        data_root=data_root,
        ann_file='iNaturalist18_train.txt'))
val_dataloader = dict(
    dataset=dict(
        type='INaturalist2018',
        data_root=data_root,
        ann_file='iNaturalist18_val.txt'))
test_dataloader = val_dataloader
