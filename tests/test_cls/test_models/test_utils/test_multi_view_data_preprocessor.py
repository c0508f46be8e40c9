"""MultiViewClsDataPreprocessor: each view normalised like a single-view
batch; single views unchanged."""
import pytest
import torch
from mmpretrain.registry import MODELS

from mil_seg.errors import UserError

NORM = dict(mean=[10.0, 20.0, 30.0], std=[2.0, 4.0, 8.0], to_rgb=True)


def images(seed, n=2):
    generator = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (n, 3, 8, 8), generator=generator).float()


def test_every_view_is_normalised_like_a_single_view_batch():
    multi = MODELS.build(dict(type='MultiViewClsDataPreprocessor', **NORM))
    single = MODELS.build(dict(type='ClsDataPreprocessor', **NORM))
    views = [images(0), images(1), images(2)]
    out = multi(dict(inputs=views), training=True)
    assert isinstance(out['inputs'], list) and len(out['inputs']) == 3
    for view, normalised in zip(views, out['inputs']):
        torch.testing.assert_close(
            normalised, single(dict(inputs=view))['inputs'])
    # per-image lists (pseudo_collate) too
    per_image = [list(view) for view in views]
    out = multi(dict(inputs=per_image), training=True)
    torch.testing.assert_close(out['inputs'][1],
                               single(dict(inputs=views[1]))['inputs'])
    # a single view: exactly ClsDataPreprocessor
    torch.testing.assert_close(
        multi(dict(inputs=views[0]))['inputs'],
        single(dict(inputs=views[0]))['inputs'])


def test_batch_augmentations_with_views_are_refused():
    multi = MODELS.build(
        dict(type='MultiViewClsDataPreprocessor', num_classes=4,
             batch_augments=dict(augments=dict(type='Mixup', alpha=0.8)),
             **NORM))
    with pytest.raises(UserError, match='does not support batch '
                       'augmentations'):
        multi(dict(inputs=[images(0), images(1)]), training=True)
