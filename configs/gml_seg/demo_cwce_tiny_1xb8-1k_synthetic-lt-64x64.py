# Demo, class-weighted cross-entropy (the re-weighting baseline): the tiny
# FCN of demo_ce_tiny_1xb8-1k_synthetic-lt-64x64.py, each pixel weighted by
# its class's inverse prior. Online prior, as demo_gml's: pixel counts
# accumulated from the training labels, so the config needs no prior file
# (the data is generated when the dataloaders are built).
_base_ = [
    './demo_ce_tiny_1xb8-1k_synthetic-lt-64x64.py',
    '../_base_/losses/cwce.py'
]

model = dict(
    decode_head=dict(
        loss_decode=dict(
            _base_.class_weighted_ce_loss,
            prior=dict(
                type='ClassPrior',
                mode='online',
                num_classes=_base_.num_classes))))
