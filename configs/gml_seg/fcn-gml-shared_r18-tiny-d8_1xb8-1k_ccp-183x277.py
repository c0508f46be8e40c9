# CCP, GML with one contrastive temperature T_c shared by all classes,
# as the official release learns it; fcn-gml_* learns one per class.
# Everything else is fcn-gml_*'s.
_base_ = ['./fcn-gml_r18-tiny-d8_1xb8-1k_ccp-183x277.py']

model = dict(decode_head=dict(loss_gml=dict(temperature='shared')))
