"""LongTailListDataset: ImageNet-LT / iNaturalist 2018 lists."""
import os.path as osp

from mmpretrain.registry import DATASETS


def test_long_tail_lists(tmp_path, make_image_folder):
    classes = ['a', 'b', 'c', 'd']
    make_image_folder(str(tmp_path / 'train'), classes, 8, size=8)
    # ImageNet-LT / iNaturalist style lists: "path label".
    lines = [f'train/{c}/{i:04d}.jpg {k}' for k, c in enumerate(classes)
             for i in range(k + 1)]
    with open(tmp_path / 'list.txt', 'w') as f:
        f.write('\n'.join(lines) + '\n')
    lt = DATASETS.build(
        dict(
            type='INaturalist2018',
            data_root=str(tmp_path),
            ann_file='list.txt',
            num_classes=5))
    assert lt.get_class_counts() == [1, 2, 3, 4, 0]
    assert osp.isfile(lt.get_data_info(0)['img_path'])
    inet = DATASETS.build(
        dict(type='ImageNetLT', data_root=str(tmp_path), ann_file='list.txt'))
    assert len(inet.get_class_counts()) == 1000
