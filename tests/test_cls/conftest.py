"""Shared set-up of the classification tests: registration and tiny data."""
import os.path as osp
import pickle

import numpy as np
import pytest

import mil_seg  # noqa: F401  (compat layer + registration)


@pytest.fixture(autouse=True)
def mmpretrain_scope():
    """Build from MMPretrain's registries whatever scope an earlier
    (segmentation) test left as mmengine's global default."""
    from mmengine.registry import DefaultScope
    with DefaultScope.overwrite_default_scope('mmpretrain'):
        yield


def write_fake_cifar(root: str, num_classes: int, train_per_class,
                     test_per_class: int = 2, seed: int = 0) -> str:
    """Write tiny CIFAR python batches (random images) under ``root``.

    Args:
        root (str): Folder that gets ``cifar-10-batches-py`` or
            ``cifar-100-python``.
        num_classes (int): 10 or 100.
        train_per_class (int | list[int]): Training images per class.
        test_per_class (int): Test images per class.
        seed (int): Seed of the random pixels.

    Returns:
        str: ``root``.
    """
    rng = np.random.RandomState(seed)
    if isinstance(train_per_class, int):
        train_per_class = [train_per_class] * num_classes

    def batch(per_class):
        labels = np.concatenate(
            [np.full(n, c) for c, n in enumerate(per_class)]).tolist()
        data = rng.randint(0, 256, (len(labels), 3072), dtype=np.uint8)
        return data, labels

    if num_classes == 10:
        folder = osp.join(root, 'cifar-10-batches-py')
        names = [f'data_batch_{i}' for i in range(1, 6)]
        key, meta = 'labels', ('batches.meta', 'label_names')
    else:
        folder = osp.join(root, 'cifar-100-python')
        names = ['train']
        key, meta = 'fine_labels', ('meta', 'fine_label_names')
    import os
    os.makedirs(folder, exist_ok=True)
    data, labels = batch(train_per_class)
    # Spread the training images over the batch files.
    for i, name in enumerate(names):
        part = slice(i, None, len(names))
        with open(osp.join(folder, name), 'wb') as f:
            pickle.dump({'data': data[part], key: labels[part]}, f)
    test_name = 'test_batch' if num_classes == 10 else 'test'
    data, labels = batch([test_per_class] * num_classes)
    with open(osp.join(folder, test_name), 'wb') as f:
        pickle.dump({'data': data, key: labels}, f)
    with open(osp.join(folder, meta[0]), 'wb') as f:
        pickle.dump({meta[1]: [f'c{i}' for i in range(num_classes)]}, f)
    return root


def write_image_folder(root: str, classes, per_class, size: int = 32,
                       seed: int = 0) -> str:
    """Write ``root/<class>/<i>.jpg`` random images.

    Args:
        root (str): Output folder.
        classes (list[str]): Class folder names.
        per_class (int | list[int]): Images per class.
        size (int): Image side. Defaults to 32.
        seed (int): Seed. Defaults to 0.

    Returns:
        str: ``root``.
    """
    import os

    import mmcv
    rng = np.random.RandomState(seed)
    if isinstance(per_class, int):
        per_class = [per_class] * len(classes)
    for name, n in zip(classes, per_class):
        os.makedirs(osp.join(root, name), exist_ok=True)
        for i in range(n):
            img = rng.randint(0, 256, (size, size, 3), dtype=np.uint8)
            mmcv.imwrite(img, osp.join(root, name, f'{i:04d}.jpg'))
    return root


@pytest.fixture(scope='session')
def make_cifar():
    """The :func:`write_fake_cifar` helper (tests cannot import conftest)."""
    return write_fake_cifar


@pytest.fixture(scope='session')
def make_image_folder():
    """The :func:`write_image_folder` helper."""
    return write_image_folder
