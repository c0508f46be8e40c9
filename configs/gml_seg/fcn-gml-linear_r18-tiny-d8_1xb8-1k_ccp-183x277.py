# CCP, GML with mmseg's linear classifier instead of the cosine one: the
# supervised term is then exactly the LA-CE baseline's loss, so the
# contrastive term is the only difference from
# fcn-lace_r18-tiny-d8_1xb8-1k_ccp-183x277.py.
_base_ = ['./fcn-gml_r18-tiny-d8_1xb8-1k_ccp-183x277.py']

# LA-CE's prior strength (tau 1), not the cosine GML's 0.75.
model = dict(decode_head=dict(classifier='linear', prior=dict(tau=1.0)))
