# CamVid: GML's contrastive term on class-weighted cross-entropy. The
# supervised term weights each pixel by its class's pi_c ** -0.5 (square-root
# inverse frequency, ClassPrior.class_weights as in the cwce configs; a
# weighted mean, so its scale does not change with the exponent) and has no
# logit adjustment: the weights replace it (both would correct for the prior
# twice). The contrastive term keeps the adjustment, and its temperatures T_c
# start at 0.2, not 0.1: the choice of the held-out design study of gml-cw
# (results/camvid-fcn-800-gml-cw-design.json). Everything else is
# deeplabv3plus-gml_*'s. The benchmark's gml-cw tunes the exponent and takes
# gml's prior strength (the contrastive term's).
_base_ = ['./deeplabv3plus-gml_r18-tiny-d8_1xb8-1k_camvid-240x180.py']

model = dict(
    decode_head=dict(
        loss_gml=dict(
            class_weight_exponent=0.5,
            sup_logit_adjustment=False,
            init_temperature=0.2)))
