"""The synthetic long-tailed segmentation data generator."""
import os.path as osp

import numpy as np
import pytest
from PIL import Image

from mil_seg.gml import ClassPrior
from mil_seg.seg.datasets import (generate_synthetic_lt_dataset,
                                  power_law_shares)

SMALL = dict(num_train=6, num_val=3, image_size=(24, 32))


def _files(root):
    out = {}
    for split in ('train', 'val'):
        for kind in ('img_dir', 'ann_dir'):
            folder = osp.join(root, kind, split)
            for name in sorted(__import__('os').listdir(folder)):
                with open(osp.join(folder, name), 'rb') as f:
                    out[(kind, split, name)] = f.read()
    return out


def test_power_law_shares():
    shares = power_law_shares(8, 100.0)
    assert shares.sum() == pytest.approx(1.0)
    assert np.all(np.diff(shares) < 0)
    assert shares[0] / shares[-1] == pytest.approx(100.0)


def test_generator_is_deterministic(tmp_path):
    a, b, c = (str(tmp_path / n) for n in 'abc')
    meta_a = generate_synthetic_lt_dataset(a, seed=3, **SMALL)
    meta_b = generate_synthetic_lt_dataset(b, seed=3, **SMALL)
    generate_synthetic_lt_dataset(c, seed=4, **SMALL)
    assert _files(a) == _files(b)
    assert meta_a == meta_b
    assert _files(a) != _files(c)
    # the training images do not depend on the number of val images
    d = str(tmp_path / 'd')
    generate_synthetic_lt_dataset(d, seed=3, **dict(SMALL, num_val=1))
    assert {k: v for k, v in _files(a).items() if k[1] == 'train'} == \
        {k: v for k, v in _files(d).items() if k[1] == 'train'}


def test_generator_is_long_tailed(tmp_path):
    root = str(tmp_path / 'data')
    meta = generate_synthetic_lt_dataset(
        root, num_train=60, num_val=2, image_size=(48, 48), seed=0)
    assert meta['classes'][0] == 'background' and len(meta['classes']) == 8
    # realised shares equal a direct count of the written labels
    hist = np.zeros(8, dtype=np.int64)
    for i in range(60):
        label = np.array(Image.open(osp.join(root, f'ann_dir/train/'
                                             f'{i:05d}.png')))
        hist += np.bincount(label.ravel(), minlength=8)
    assert meta['pixel_counts']['train'] == hist.tolist()
    share = hist / hist.sum()
    np.testing.assert_allclose(meta['realised_shares']['train'], share,
                               atol=1e-6)
    # steep: a dominant head, a rare tail, every class present
    assert share[0] > 0.5
    assert share[1] > 5 * share[-1]
    assert share[0] > 50 * share[-1]
    assert (hist > 0).all()
    assert np.corrcoef(np.log(share), np.log(meta['target_shares']))[0,
                                                                     1] > 0.9
    # the prior file is the train pixel counts in the ClassPrior format
    prior = ClassPrior.read_file(osp.join(root, 'class_prior.json'))
    assert prior['counts'] == hist.tolist()
    assert prior['classes'] == meta['classes']
    assert prior['num_samples'] == 60
