# ADE20K, GML with one contrastive temperature T_c shared by all classes,
# as the official release learns it; deeplabv3plus-gml_* learns one per
# class. Everything else is deeplabv3plus-gml_*'s.
_base_ = ['./deeplabv3plus-gml_r50-d8_4xb4-80k_ade20k-512x512.py']

model = dict(decode_head=dict(loss_gml=dict(temperature='shared')))
