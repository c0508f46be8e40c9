"""The CIFAR-10-LT benchmark prepares data and configs (no training)."""
import argparse
import importlib.util
import math
import os.path as osp
import tarfile

ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def _load_benchmark():
    path = osp.join(ROOT, 'tools', 'benchmarks', 'cifar10_lt.py')
    spec = importlib.util.spec_from_file_location('cifar10_lt_bench', path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_benchmark_data_and_configs(tmp_path, make_image_folder):
    bench = _load_benchmark()
    classes = [f'c{i}' for i in range(10)]
    src = tmp_path / 'src'
    make_image_folder(str(src / 'cifar10' / 'train'), classes, 4, size=8)
    make_image_folder(str(src / 'cifar10' / 'val'), classes, 1, size=8)
    archive = tmp_path / 'cifar10-images.tar.gz'
    with tarfile.open(archive, 'w:gz') as tar:
        tar.add(src / 'cifar10', arcname='cifar10')
    work_dir = str(tmp_path / 'work')
    root = bench.prepare_data(str(archive), work_dir)
    assert osp.isdir(osp.join(root, 'train', 'c0'))
    assert bench.prepare_data(str(archive), work_dir) == root  # cached

    args = argparse.Namespace(
        epochs=2, iters=None, batch_size=4, num_workers=0, val_limit=5,
        seed=0, teacher_checkpoint='teacher.pth')
    cfg, total = bench.build_config('gml-student', args, root, work_dir)
    # LongTailSubset of 4 per class at imbalance 100: 4, 3, 2, 1, 1, ...
    assert total == 2 * math.ceil(sum([4, 3, 2, 1, 1, 1, 1, 1, 1, 1]) / 4)
    assert cfg.train_cfg.max_iters == total
    assert cfg.param_scheduler[1].milestones == [
        round(0.8 * total), round(0.9 * total)
    ]
    assert cfg.model.teacher.checkpoint == 'teacher.pth'
    assert cfg.model.type == 'GMLClassifier'
    assert cfg.train_dataloader.dataset.dataset.data_root == root
    assert len(cfg.test_dataloader.dataset.indices) == 5
    args.iters = 3
    cfg, total = bench.build_config('ce', args, root, work_dir)
    assert total == 3 and cfg.model.head.type == 'LinearClsHead'
