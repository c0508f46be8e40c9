# Lovasz-Softmax (Berman et al., CVPR 2018; mmseg's LovaszLoss), added to a
# CE head's CE (loss_decode = [its CE, this]): its authors advise training
# it after or beside CE, as its best optimiser settings differ from CE's,
# and the schedules here are CE's. per_image=False takes each present
# class's Jaccard over the batch, nearer the dataset mIoU that is reported
# than per-image IoU; mmseg then requires reduction='none' (the loss is one
# value already).
lovasz_loss = dict(
    type='LovaszLoss',
    loss_type='multi_class',
    classes='present',
    per_image=False,
    reduction='none',
    loss_weight=1.0,
    loss_name='loss_lovasz')
