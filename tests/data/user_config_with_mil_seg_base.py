# A user's config outside the package: a mil_seg:: base (which inherits
# mmseg:: bases) and one change (tests/test_init.py loads it).
_base_ = ['mil_seg::gml_seg/demo_gml_tiny_1xb8-1k_synthetic-lt-64x64.py']
model = dict(decode_head=dict(embed_dim=32))
