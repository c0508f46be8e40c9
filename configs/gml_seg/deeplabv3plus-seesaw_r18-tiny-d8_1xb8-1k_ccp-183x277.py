# CCP, Seesaw loss on pixels (CVPR 2021): the CE baseline's linear head,
# each pixel's penalties on rarer classes mitigated by cumulative pixel
# counts and compensated where they are predicted above its own class.
_base_ = [
    './deeplabv3plus-ce_r18-tiny-d8_1xb8-1k_ccp-183x277.py',
    '../_base_/losses/seesaw.py'
]

model = dict(
    decode_head=dict(loss_decode=dict(_base_.seesaw_loss, num_classes=59)))
