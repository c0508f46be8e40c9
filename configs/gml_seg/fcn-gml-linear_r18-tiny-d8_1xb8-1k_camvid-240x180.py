# CamVid, GML with mmseg's linear classifier instead of the cosine one: the
# supervised term is then exactly the LA-CE baseline's loss, so the
# contrastive term is the only difference from
# fcn-lace_r18-tiny-d8_1xb8-1k_camvid-240x180.py.
_base_ = ['./fcn-gml_r18-tiny-d8_1xb8-1k_camvid-240x180.py']

model = dict(decode_head=dict(classifier='linear'))
