# Logit-adjusted cross-entropy (Menon et al., ICLR 2021): CE(logits + tau *
# log pi) in training, prior-free logits at inference. A decode head's
# loss_decode (``_delete_`` drops its parent's CE keys); the config adds its
# dataset's prior (``prior=_base_.prior``, configs/_base_/datasets/). It
# averages over non-ignored pixels, as GML's supervised term does.
logit_adjusted_ce_loss = dict(
    _delete_=True,
    type='LogitAdjustedCELoss',
    avg_non_ignore=True,
    loss_weight=1.0)
