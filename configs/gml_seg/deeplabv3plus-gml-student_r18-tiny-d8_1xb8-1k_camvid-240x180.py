# CamVid, tiny DeepLabV3+, GML stage 2 (student): the single-stage GML
# config, but the pixel queue holds the frozen stage-1 teacher's decoder
# features (same model, trained by deeplabv3plus-gml-teacher_*) embedded by
# a trainable key projector, and the teacher's prior-free logits are
# distilled (alpha 1, T 4, as fcn-gml-student_*). Train that teacher config
# first: its last checkpoint is the path below.
_base_ = ['./deeplabv3plus-gml_r18-tiny-d8_1xb8-1k_camvid-240x180.py']

model = dict(
    type='GMLEncoderDecoder',
    decode_head=dict(
        key_in_channels=64,  # the teacher decoder's channels
        loss_gml=dict(kd_weight=1.0, kd_temperature=4.0)),
    teacher=dict(
        type='EncoderDecoder',
        backbone={{_base_.model.backbone}},
        decode_head=dict(
            type='GMLHead',
            decoder={{_base_.model.decode_head.decoder}},
            prior={{_base_.model.decode_head.prior}},
            classifier_scale={{_base_.model.decode_head.classifier_scale}},
            loss_gml=dict(con_weight=0.0)),
        test_cfg=dict(mode='whole'),
        checkpoint=('work_dirs/deeplabv3plus-gml-teacher_r18-tiny-d8_'
                    '1xb8-1k_camvid-240x180/iter_1000.pth')))
