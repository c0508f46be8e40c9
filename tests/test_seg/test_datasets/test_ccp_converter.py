"""convert_ccp: the CCP release layout to the mmseg layout, at a scale;
a bad release is one user error naming the file, and the output folder is
left as it was."""
import json
import os
import os.path as osp

import numpy as np
import pytest
import scipy.io
from PIL import Image

from mil_seg.errors import MissingFileError, UserError
from mil_seg.seg.datasets import (CCP_SPLIT_FILE, convert_ccp,
                                  plan_ccp_conversion, read_ccp_split)
from mil_seg.seg.datasets.ccp_converter import parse_scale, scaled_size
from ...tool_runner import run_tool
from .ccp_release import SIZE, SPLIT, make_ccp_release, write_annotation


@pytest.fixture
def release(tmp_path):
    src = str(tmp_path / 'release')
    pairs = make_ccp_release(src, np.random.default_rng(0))
    return src, pairs


def read_png(path):
    return np.array(Image.open(path))


def test_convert_fake_release_at_one_third(tmp_path, release):
    src, pairs = release
    dst = str(tmp_path / 'ccp')
    done = convert_ccp(src, dst, osp.join(src, 'split.json'),
                       show_progress=False)
    assert done['converted'] == dict(train=3, val=2)
    assert list(done['skipped']) == ['test']
    assert 'none of its 2 photos' in done['skipped']['test']
    assert sorted(os.listdir(dst)) == ['ann_dir', 'img_dir']
    assert sorted(os.listdir(osp.join(dst, 'img_dir'))) == ['train', 'val']
    for split in ('train', 'val'):
        for i in SPLIT[split]:
            photo, label = pairs[i]
            img = read_png(osp.join(dst, 'img_dir', split, f'{i}.png'))
            ann = read_png(osp.join(dst, 'ann_dir', split, f'{i}.png'))
            assert img.shape == (6, 4, 3) and ann.shape == (6, 4)
            assert ann.dtype == np.uint8
            # images bilinear (PIL's, as the converter documents) ...
            expected = Image.fromarray(photo).resize((4, 6), Image.BILINEAR)
            np.testing.assert_array_equal(img, np.array(expected))
            # ... labels nearest: the centre pixel of each 3x3 block, so
            # only ids of the label map, never a blend of two
            np.testing.assert_array_equal(ann, label[1::3, 1::3])
    # nothing left beside the output (no temporary folder)
    assert sorted(os.listdir(tmp_path)) == ['ccp', 'release']


def test_scale_one_keeps_the_release_and_two_processes_agree(
        tmp_path, release):
    src, pairs = release
    split = osp.join(src, 'split.json')
    convert_ccp(src, str(tmp_path / 'one'), split, scale=1,
                show_progress=False)
    convert_ccp(src, str(tmp_path / 'two'), split, scale='1', nproc=2,
                show_progress=False)
    for i in SPLIT['train']:
        photo, label = pairs[i]
        for out in ('one', 'two'):
            root = tmp_path / out
            np.testing.assert_array_equal(
                read_png(root / 'img_dir' / 'train' / f'{i}.png'), photo)
            np.testing.assert_array_equal(
                read_png(root / 'ann_dir' / 'train' / f'{i}.png'), label)


def test_scale_parsing_and_rounding():
    assert parse_scale('1/3') == pytest.approx(1 / 3)
    assert parse_scale('0.5') == 0.5 and parse_scale(2) == 2.0
    # the release's photos: 550 wide, about 830 tall -> about 183x277
    assert scaled_size((550, 830), 1 / 3) == (183, 277)
    assert scaled_size((550, 825), 1 / 3) == (183, 275)
    assert scaled_size((5, 1), 0.1) == (1, 1)
    for bad in ('0', '-1/3', 'third', '1/0', float('nan')):
        with pytest.raises(UserError, match='scale'):
            parse_scale(bad)


def test_shipped_split_is_the_default(tmp_path):
    split = read_ccp_split(CCP_SPLIT_FILE)
    assert {k: len(v) for k, v in split.items()} == dict(
        train=600, val=150, test=254)
    ids = [i for v in split.values() for i in v]
    assert len(set(ids)) == len(ids)
    # a release holding the photos of the shipped val split only: val is
    # converted by default, train and test are skipped
    src = str(tmp_path / 'release')
    make_ccp_release(
        src, np.random.default_rng(1), split=dict(val=split['val']),
        without_photos=())
    convert, skipped = plan_ccp_conversion(src)
    assert list(convert) == ['val'] and convert['val'] == split['val']
    assert sorted(skipped) == ['test', 'train']


def test_a_second_conversion_replaces_the_converted_splits(
        tmp_path, release):
    src, _ = release
    dst = tmp_path / 'ccp'
    split = osp.join(src, 'split.json')
    convert_ccp(src, str(dst), split, show_progress=False)
    (dst / 'class_prior.json').write_text('{}')
    (dst / 'img_dir' / 'train' / 'stale.png').write_text('')
    convert_ccp(src, str(dst), split, scale=1, show_progress=False)
    assert (dst / 'class_prior.json').read_text() == '{}'
    assert sorted(os.listdir(dst / 'img_dir' / 'train')) == [
        '0001.png', '0002.png', '0003.png']
    assert read_png(dst / 'ann_dir' / 'val' / '0004.png').shape == (18, 12)
    assert sorted(os.listdir(tmp_path)) == ['ccp', 'release']


def remove_photo(src):
    os.remove(osp.join(src, 'photos', '0002.jpg'))
    return MissingFileError, 'photos/0002.jpg'


def remove_annotation(src):
    os.remove(osp.join(src, 'annotations', 'pixel-level', '0004.mat'))
    return MissingFileError, 'pixel-level/0004.mat'


def drop_groundtruth(src):
    width, height = SIZE
    scipy.io.savemat(
        osp.join(src, 'annotations', 'pixel-level', '0003.mat'),
        dict(labels=np.zeros((height, width), np.uint8)))
    return UserError, 'pixel-level/0003.mat has no variable "groundtruth"'


def label_out_of_range(src):
    width, height = SIZE
    label = np.zeros((height, width), np.uint8)
    label[2, 3], label[4, 5] = 59, 200
    write_annotation(
        osp.join(src, 'annotations', 'pixel-level', '0005.mat'), label)
    return UserError, r'pixel-level/0005.mat: label ids 59, 200 .* 0-58'


def label_of_another_size(src):
    width, height = SIZE
    write_annotation(
        osp.join(src, 'annotations', 'pixel-level', '0001.mat'),
        np.zeros((height + 1, width), np.uint8))
    return UserError, r'photos/0001.jpg is 12x18 but its label map .*' \
        r'0001.mat is 12x19'


def unreadable_annotation(src):
    with open(osp.join(src, 'annotations', 'pixel-level', '0002.mat'),
              'wb') as f:
        f.write(b'not a mat file')
    return UserError, 'pixel-level/0002.mat'


def other_label_list(src):
    names = np.empty((1, 2), dtype=object)
    names[0, :] = ['null', 'shirt']
    scipy.io.savemat(osp.join(src, 'label_list.mat'), dict(label_list=names))
    return UserError, 'label_list.mat names 2 classes'


def id_listed_twice(src):
    with open(osp.join(src, 'split.json'), 'w') as f:
        json.dump(dict(train=['0001', '0002'], val=['0002']), f)
    return UserError, 'split.json: id 0002 is listed twice'


BAD_INPUTS = [
    remove_photo, remove_annotation, drop_groundtruth, label_out_of_range,
    label_of_another_size, unreadable_annotation, other_label_list,
    id_listed_twice
]


@pytest.mark.parametrize('nproc', [1, 2])
@pytest.mark.parametrize('spoil', BAD_INPUTS, ids=lambda f: f.__name__)
def test_a_bad_release_writes_nothing(tmp_path, release, spoil, nproc):
    src, _ = release
    error, match = spoil(src)
    dst = str(tmp_path / 'out' / 'ccp')
    with pytest.raises(error, match=match):
        convert_ccp(src, dst, osp.join(src, 'split.json'), nproc=nproc,
                    show_progress=False)
    assert not osp.exists(dst)
    assert not osp.exists(tmp_path / 'out') or not os.listdir(tmp_path /
                                                              'out')


def test_a_bad_release_leaves_an_earlier_conversion_as_it_was(
        tmp_path, release):
    src, _ = release
    dst = tmp_path / 'ccp'
    split = osp.join(src, 'split.json')
    convert_ccp(src, str(dst), split, show_progress=False)
    before = {
        p: p.read_bytes() for p in sorted(dst.rglob('*')) if p.is_file()
    }
    label_out_of_range(src)
    with pytest.raises(UserError, match='0005.mat'):
        convert_ccp(src, str(dst), split, scale=1, show_progress=False)
    after = {p: p.read_bytes() for p in sorted(dst.rglob('*')) if p.is_file()}
    assert after == before
    assert sorted(os.listdir(tmp_path)) == ['ccp', 'release']


def test_a_split_with_some_photos_missing_names_the_first(tmp_path, release):
    src, _ = release
    for i in ('0004', '0005'):  # val: all photos gone -> skipped
        os.remove(osp.join(src, 'photos', f'{i}.jpg'))
    convert, skipped = plan_ccp_conversion(src, osp.join(src, 'split.json'))
    assert list(convert) == ['train'] and sorted(skipped) == ['test', 'val']
    os.remove(osp.join(src, 'photos', '0003.jpg'))  # train: one of three
    with pytest.raises(
            MissingFileError,
            match=r'0003.jpg is missing \(missing: 1 of the 3 photos'):
        plan_ccp_conversion(src, osp.join(src, 'split.json'))


def test_no_release_or_no_photos(tmp_path, release):
    src, _ = release
    split = osp.join(src, 'split.json')
    with pytest.raises(MissingFileError, match='nowhere/photos is missing'):
        plan_ccp_conversion(str(tmp_path / 'nowhere'), split)
    with pytest.raises(MissingFileError, match='split file .*absent.json'):
        plan_ccp_conversion(src, str(tmp_path / 'absent.json'))
    for i in SPLIT['train'] + SPLIT['val']:
        os.remove(osp.join(src, 'photos', f'{i}.jpg'))
    with pytest.raises(MissingFileError, match='no split of .* has its'):
        plan_ccp_conversion(src, split)


def test_tool_prints_one_error_line(tmp_path, release):
    """The thin tool: counts on success; a bad release is one ``error:``
    line naming the file, status 2, no traceback."""
    src, _ = release
    dst = str(tmp_path / 'ccp')
    split = osp.join(src, 'split.json')
    tool = 'tools/dataset_converters/ccp.py'
    result = run_tool(tool, src, dst, '--split', split, '--scale', '1/2',
                      timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert 'skipped test: none of its 2 photos' in result.stdout
    assert 'converted: train 3, val 2 images' in result.stdout
    assert read_png(osp.join(dst, 'ann_dir', 'train', '0001.png')).shape == (
        9, 6)
    drop_groundtruth(src)
    bad_dst = str(tmp_path / 'bad')
    result = run_tool(tool, src, bad_dst, '--split', split, timeout=300)
    assert result.returncode == 2
    errors = [
        line for line in result.stderr.splitlines()
        if line.startswith('error:')
    ]
    assert len(errors) == 1 and '0003.mat' in errors[0], result.stderr
    assert 'Traceback' not in result.stderr
    assert not osp.exists(bad_dst)
