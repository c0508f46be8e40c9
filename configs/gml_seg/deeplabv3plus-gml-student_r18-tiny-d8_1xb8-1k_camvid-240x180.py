# CamVid, tiny DeepLabV3+, GML stage 2 (student): the single-stage GML config,
# but the pixel queue holds the frozen stage-1 teacher's decoder features
# (this model as deeplabv3plus-gml-teacher_* trains it: GMLEncoderDecoder
# takes every part the teacher config leaves out from the student, the
# contrastive and distillation terms off) embedded by a trainable key
# projector, and the teacher's prior-free logits are distilled (alpha 1, T 4,
# the classification recipe's values). Train that teacher config first: its
# last checkpoint is the path below.
_base_ = ['./deeplabv3plus-gml_r18-tiny-d8_1xb8-1k_camvid-240x180.py']

model = dict(
    type='GMLEncoderDecoder',
    decode_head=dict(
        key_in_channels=64,  # the teacher decoder's channels
        loss_gml=dict(kd_weight=1.0, kd_temperature=4.0)),
    teacher=dict(checkpoint=('work_dirs/deeplabv3plus-gml-teacher_r18-tiny-d8_'
                             '1xb8-1k_camvid-240x180/iter_1000.pth')))
