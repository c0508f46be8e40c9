# CamVid, EfficientNet-Lite0 DeepLabV3+: GML with one contrastive temperature
# T_c shared by all classes, as the official release learns it;
# deeplabv3plus-gml_* learns one per class.
_base_ = ['./deeplabv3plus-gml_effnet-lite0-d16_1xb8-1k_camvid-240x180.py']

model = dict(decode_head=dict(loss_gml=dict(temperature='shared')))
