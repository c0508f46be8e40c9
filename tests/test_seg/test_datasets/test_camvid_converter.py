"""convert_camvid: the SegNet layout to the mmseg layout."""
import os
import os.path as osp

import numpy as np
import pytest
from PIL import Image

from mil_seg.seg.datasets import convert_camvid

from .segnet_layout import make_segnet_layout


@pytest.mark.parametrize('with_lists', [True, False])
def test_convert_camvid(tmp_path, with_lists):
    src, dst = str(tmp_path / 'segnet'), str(tmp_path / 'camvid')
    pairs = make_segnet_layout(src, with_lists, np.random.default_rng(0))
    done = convert_camvid(src, dst)
    assert done == dict(train=3, val=2, test=1)
    for (split, name), (img, label) in pairs.items():
        out_img = np.array(Image.open(osp.join(dst, 'img_dir', split, name)))
        out_ann = np.array(Image.open(osp.join(dst, 'ann_dir', split, name)))
        np.testing.assert_array_equal(out_img, img)  # pairs preserved
        expected = label.copy()
        expected[label == 11] = 255
        np.testing.assert_array_equal(out_ann, expected)
        assert out_ann.dtype == np.uint8 and out_ann.ndim == 2


def test_convert_camvid_missing_annotation(tmp_path):
    src = str(tmp_path / 'segnet')
    make_segnet_layout(src, True, np.random.default_rng(0))
    os.remove(osp.join(src, 'valannot', '0001TP_val000.png'))
    with pytest.raises(FileNotFoundError, match='val000'):
        convert_camvid(src, str(tmp_path / 'out'), splits=['val'])
