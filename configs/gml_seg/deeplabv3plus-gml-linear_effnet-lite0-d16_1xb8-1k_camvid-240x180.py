# CamVid, EfficientNet-Lite0 DeepLabV3+: GML with mmseg's linear classifier:
# the contrastive term is the only difference from deeplabv3plus-lace_*.
_base_ = ['./deeplabv3plus-gml_effnet-lite0-d16_1xb8-1k_camvid-240x180.py']

# LA-CE's prior strength (tau 1), not the cosine GML's 0.75.
model = dict(decode_head=dict(classifier='linear', prior=dict(tau=1.0)))
