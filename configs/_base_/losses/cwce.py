# Class-weighted cross-entropy (the re-weighting baseline): each pixel
# weighted by its class's inverse prior to the power ``exponent`` (1:
# inverse frequency, 0.5: square-root inverse; the weights have mean 1 over
# the classes; ``normalize='prior'`` gives them mean 1 under the prior,
# the same loss here, as a decode head averages by the summed weights). A
# decode head's loss_decode (``_delete_`` drops its parent's CE keys); the
# config adds its dataset's prior (``prior=_base_.prior``).
class_weighted_ce_loss = dict(
    _delete_=True, type='ClassWeightedCELoss', exponent=1.0)
