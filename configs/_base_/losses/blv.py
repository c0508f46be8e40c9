# Balancing Logit Variation (BLV, Wang et al., CVPR 2023): training logits
# plus noise scaled by each class's -log prior over the rarest class's (the
# authors' fixed formula, grantword8/BLV e08cc6c); prediction uses the plain
# logits. sigma 4 is the value of every config its authors released. A
# decode head's loss_decode (``_delete_`` drops its parent's CE keys); the
# config adds its dataset's prior (``prior=_base_.prior``).
blv_loss = dict(_delete_=True, type='BLVLoss', sigma=4.0)
