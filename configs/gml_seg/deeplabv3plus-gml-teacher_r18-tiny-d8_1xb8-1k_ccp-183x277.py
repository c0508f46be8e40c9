# CCP, tiny DeepLabV3+, GML stage 1 (teacher): the GML head without its
# contrastive term, i.e. logit-adjusted cross-entropy on the cosine
# classifier. Its checkpoint feeds the queue of deeplabv3plus-gml-student_*
# (stage 2).
_base_ = ['./deeplabv3plus-gml_r18-tiny-d8_1xb8-1k_ccp-183x277.py']

model = dict(decode_head=dict(loss_gml=dict(con_weight=0.0)))
