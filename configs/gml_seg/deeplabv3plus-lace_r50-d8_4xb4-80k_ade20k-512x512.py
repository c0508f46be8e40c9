# Logit-adjusted cross-entropy on DeepLabV3+ R-50: the CE baseline's
# decode head with CE(logits + log pi) as its loss; inference stays
# prior-free.
#
# This and the other ADE20K baselines (deeplabv3plus-{cwce,blv,seesaw,
# focal,ohem,lovasz}_*) change only the decode head's loss (or sampler):
# the auxiliary FCN head on stage 3 keeps the recipe's CE at weight 0.4, as
# in the GML config (which wraps the decode head only) and in the BLV
# authors' configs. It only helps train the backbone and is not used at
# inference, so every method is compared on the head that predicts, with
# the same auxiliary supervision. The prior-based losses average over
# non-ignored pixels, as GML's supervised term does.
_base_ = [
    './deeplabv3plus-ce_r50-d8_4xb4-80k_ade20k-512x512.py',
    '../_base_/losses/lace.py'
]

model = dict(
    decode_head=dict(
        loss_decode=dict(_base_.logit_adjusted_ce_loss, prior=_base_.prior)))
