# Seesaw loss on pixels (Wang et al., CVPR 2021) at its authors' p 0.8 and
# q 2 (tuned on LVIS's 1203 classes): each pixel's penalties on rarer
# classes mitigated by cumulative pixel counts (its own, starting empty and
# counting every training batch) and compensated where they are predicted
# above its own class. A decode head's loss_decode (``_delete_`` drops its
# parent's CE keys); the config adds its dataset's ``num_classes``.
seesaw_loss = dict(_delete_=True, type='PixelSeesawLoss', p=0.8, q=2.0)
