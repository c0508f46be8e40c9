# CCP, GML on the tiny DeepLabV3+ with mmseg's linear classifier: the
# contrastive term is the only difference from deeplabv3plus-lace_*.
_base_ = ['./deeplabv3plus-gml_r18-tiny-d8_1xb8-1k_ccp-183x277.py']

# LA-CE's prior strength (tau 1), not the cosine GML's 0.75.
model = dict(decode_head=dict(classifier='linear', prior=dict(tau=1.0)))
