# CCP: GML on a class-weighted supervised term. Its logit-adjusted
# cross-entropy weights each pixel by its class's pi_c ** -0.5 (square-root
# inverse frequency, ClassPrior.class_weights as in the cwce configs; a
# weighted mean, so the loss scale does not change with the exponent); the
# contrastive term is unchanged. Everything else is fcn-gml_*'s. The
# benchmark's gml-cw tunes the exponent and takes gml's prior strength.
_base_ = ['./fcn-gml_r18-tiny-d8_1xb8-1k_ccp-183x277.py']

model = dict(decode_head=dict(loss_gml=dict(class_weight_exponent=0.5)))
