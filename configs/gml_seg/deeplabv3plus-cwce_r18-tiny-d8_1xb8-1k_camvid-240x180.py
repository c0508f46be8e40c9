# CamVid, class-weighted cross-entropy (the re-weighting baseline): the CE
# baseline's linear head, each pixel weighted by its class's inverse prior
# (exponent 1; 0.5 is square-root inverse) from the shipped CamVid prior.
_base_ = ['./deeplabv3plus-ce_r18-tiny-d8_1xb8-1k_camvid-240x180.py']

model = dict(
    decode_head=dict(
        loss_decode=dict(
            _delete_=True,
            type='ClassWeightedCELoss',
            prior={{_base_.prior}},
            exponent=1.0,
            loss_weight=1.0)))
