# Online hard example mining on a CE head (mmseg's OHEMPixelSampler, a
# decode head's ``sampler``): CE only on the pixels whose ground-truth
# probability is below thresh (0.7, as in mmseg's OHEM configs with a
# threshold), and at least min_kept x batch size of the hardest pixels in a
# batch; the CE still divides by all non-ignored pixels, as in mmseg. The
# config adds ``min_kept`` for its crop: about the share that mmseg's
# DeepLabV3+ OHEM configs keep (100000 of 512x1024, about a fifth).
ohem_sampler = dict(type='OHEMPixelSampler', thresh=0.7)
