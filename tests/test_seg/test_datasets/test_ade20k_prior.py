"""ade20k_prior_from_csv: the ADE20K prior from objectInfo150.csv; and the
ADE20K layout that prior is for (0 = unlabelled, reduce_zero_label)."""
import csv

import numpy as np
from mmengine.registry import init_default_scope
from mmseg.registry import DATASETS
from PIL import Image

import mil_seg  # noqa: F401
from mil_seg.gml import ClassPrior
from mil_seg.seg.datasets import ade20k_prior_from_csv


def test_ade20k_prior_from_csv(tmp_path):
    from mmseg.datasets import ADE20KDataset
    names = ADE20KDataset.METAINFO['classes']
    path = tmp_path / 'objectInfo150.csv'
    with open(path, 'w', newline='') as f:
        writer = csv.writer(f)
        writer.writerow(['Idx', 'Ratio', 'Train', 'Val', 'Stuff', 'Name'])
        for i, name in enumerate(names):
            writer.writerow([
                i + 1, f'{0.1 / (i + 1):.4f}', 1000 - i, 10, 0,
                name.strip().replace(' ', ';') + ';synonym'
            ])
    prior = ade20k_prior_from_csv(str(path))
    assert prior['classes'] == list(names)
    assert prior['count_type'] == 'pixel'
    ratios = np.array([float(f'{0.1 / (i + 1):.4f}') for i in range(150)])
    np.testing.assert_allclose(prior['counts'] / prior['counts'].sum(),
                               ratios / ratios.sum(), rtol=1e-6)
    # the Train column: images per class, with either count type
    assert prior['image_counts'].tolist() == [1000 - i for i in range(150)]
    out = str(tmp_path / 'ade20k.json')
    ClassPrior.write_file(out, **prior)
    written = ClassPrior.read_file(out)
    assert written['image_counts'] == [1000 - i for i in range(150)]
    assert written['counts'] == prior['counts'].tolist()
    prior = ade20k_prior_from_csv(str(path), count_type='image')
    assert prior['counts'].tolist() == [1000 - i for i in range(150)]


def test_ade20k_style_reduce_zero_label(tmp_path):
    """The ADE20K layout: jpg images, 0 = unlabelled, reduce_zero_label."""
    rng = np.random.default_rng(0)
    root = tmp_path / 'ade'
    for sub in ('images/training', 'annotations/training'):
        (root / sub).mkdir(parents=True)
    label = rng.integers(0, 4, (5, 7), dtype=np.uint8)
    Image.fromarray(rng.integers(0, 256, (5, 7, 3), dtype=np.uint8)).save(
        root / 'images/training/ADE_train_00000001.jpg')
    Image.fromarray(label).save(
        root / 'annotations/training/ADE_train_00000001.png')
    init_default_scope('mmseg')
    dataset = DATASETS.build(
        dict(
            type='ADE20KDataset',
            data_root=str(root),
            data_prefix=dict(
                img_path='images/training',
                seg_map_path='annotations/training'),
            pipeline=[
                dict(type='LoadImageFromFile'),
                dict(type='LoadAnnotations', reduce_zero_label=True)
            ]))
    gt = dataset[0]['gt_seg_map']
    expected = label.astype(np.int64) - 1
    expected[label == 0] = 255
    np.testing.assert_array_equal(gt, expected)
