# Focal loss (Lin et al., ICCV 2017; mmseg's FocalLoss), one sigmoid binary
# problem per class, at the paper's gamma 2 and alpha 0.25, which it tuned
# together (mmseg's default alpha, 0.5, weighs positives and negatives
# alike). mmseg's 'mean' divides by pixels x classes (ignored pixels
# included); loss_weight = the number of classes turns that into the
# paper's normalisation (RetinaNet divides by the number of positives: one
# per pixel here), a per-pixel loss on CE's scale rather than 1/C of it, so
# the config adds ``loss_weight`` = its number of classes. A decode head's
# loss_decode (``_delete_`` drops its parent's CE keys).
focal_loss = dict(
    _delete_=True,
    type='FocalLoss',
    use_sigmoid=True,
    gamma=2.0,
    alpha=0.25)
