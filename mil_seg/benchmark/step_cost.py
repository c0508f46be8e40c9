"""The cost of a training step: segmentation configs measured in one run.

Builds each config's segmentor and optimizer, feeds identical generated
long-tailed batches (no data loading, so the ratio is the model's own cost)
and prints time per step and peak memory of each, and their ratios to the
first (the baseline)::

    python -m mil_seg.benchmark.step_cost BASELINE_CONFIG CANDIDATE_CONFIG \\
        [--crop 512 512] [--batch 4] [--iters 200] [--warmup 20] [--amp] \\
        [--device cuda] [--cfg-options ...]

Each config is measured in a process of its own (the benchmark's one
runner, :func:`~.runs.run_process`), so that CPU peak memory (max RSS) is
per config; on CUDA the peak is ``torch.cuda.max_memory_allocated``.
"""
import argparse
import json
import os.path as osp
import resource
import sys
import tempfile
import time
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from .results import write_json
from .runs import run_process

#: The module run as each measurement's process.
MODULE = 'mil_seg.benchmark.step_cost'


def build_parser() -> argparse.ArgumentParser:
    """The benchmark's arguments."""
    parser = argparse.ArgumentParser(
        prog=f'python -m {MODULE}', description=__doc__.split('\n')[0])
    parser.add_argument('configs', nargs='+', help='baseline first')
    parser.add_argument('--crop', type=int, nargs=2, default=(512, 512))
    parser.add_argument('--batch', type=int, default=4)
    parser.add_argument('--iters', type=int, default=50)
    parser.add_argument('--warmup', type=int, default=5)
    parser.add_argument('--amp', action='store_true')
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--single', metavar='RESULT_FILE',
                        help=argparse.SUPPRESS)
    parser.add_argument('--cfg-options', nargs='+', default=[])
    return parser


def long_tailed_label_map(rng: np.random.Generator, num_classes: int,
                          height: int, width: int) -> np.ndarray:
    """A label map of blocky regions whose classes follow a power law.

    Args:
        rng (np.random.Generator): The random source.
        num_classes (int): The classes (class k has a share of
            ``(k + 1) ** -1.5``).
        height (int): Its height.
        width (int): Its width.

    Returns:
        np.ndarray: ``height x width`` int64 labels, 2 % of them 255
        (ignored).
    """
    shares = 1.0 / np.arange(1, num_classes + 1)**1.5
    shares /= shares.sum()
    coarse = rng.choice(num_classes, size=(height // 16 + 1, width // 16 + 1),
                        p=shares)
    labels = np.kron(coarse, np.ones((16, 16), dtype=np.int64))
    labels = labels[:height, :width].copy()
    labels[rng.random((height, width)) < 0.02] = 255  # some ignore pixels
    return labels


def make_batch(num_classes: int, crop: Tuple[int, int], batch: int,
               seed: int) -> dict:
    """A generated batch as a segmentor's ``train_step`` takes it.

    Args:
        num_classes (int): The classes of its label maps.
        crop (tuple[int, int]): Height and width.
        batch (int): Its size.
        seed (int): The seed of its images and labels.

    Returns:
        dict: ``inputs`` (uint8 images) and ``data_samples``.
    """
    import torch
    from mmengine.structures import PixelData
    from mmseg.structures import SegDataSample
    rng = np.random.default_rng(seed)
    height, width = crop
    inputs, samples = [], []
    for _ in range(batch):
        inputs.append(
            torch.from_numpy(
                rng.integers(0, 256, (3, height, width), dtype=np.uint8)))
        sample = SegDataSample()
        labels = long_tailed_label_map(rng, num_classes, height, width)
        sample.gt_sem_seg = PixelData(data=torch.from_numpy(labels)[None])
        sample.set_metainfo(
            dict(img_shape=(height, width), ori_shape=(height, width),
                 pad_shape=(height, width)))
        samples.append(sample)
    return dict(inputs=inputs, data_samples=samples)


def measure_one(args: argparse.Namespace) -> Dict[str, object]:
    """Measure ``args.configs[0]`` in this process.

    Args:
        args (argparse.Namespace): The arguments (:func:`build_parser`).

    Returns:
        dict: ``config`` (its file name), ``seconds_per_step``,
        ``peak_mb`` (CUDA peak, or this process's max RSS), ``finite``
        (every loss finite) and ``last_loss``.
    """
    import torch
    from mmengine.config import Config, DictAction
    from mmengine.optim import build_optim_wrapper
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS

    cfg = Config.fromfile(args.configs[0])
    if args.cfg_options:
        option_parser = argparse.ArgumentParser()
        option_parser.add_argument('--options', nargs='+', action=DictAction)
        cfg.merge_from_dict(
            option_parser.parse_args(['--options',
                                      *args.cfg_options]).options)
    init_default_scope(cfg.default_scope)
    torch.manual_seed(args.seed)
    model_cfg = cfg.model
    model_cfg.pop('pretrained', None)
    if model_cfg.get('backbone', {}).get('init_cfg'):
        model_cfg.backbone.init_cfg = None
    model = MODELS.build(model_cfg).to(args.device)
    model.train()
    optim_cfg = cfg.optim_wrapper.copy()
    if args.amp:
        optim_cfg.type = 'AmpOptimWrapper'
        optim_cfg.setdefault('loss_scale', 'dynamic')
    optim_wrapper = build_optim_wrapper(model, optim_cfg)
    num_classes = model.decode_head.num_classes
    batches = [
        make_batch(num_classes, args.crop, args.batch, args.seed + i)
        for i in range(4)
    ]
    cuda = args.device.startswith('cuda')

    def sync():
        if cuda:
            torch.cuda.synchronize()

    losses = []
    for step in range(args.warmup):
        model.train_step(batches[step % 4], optim_wrapper)
    sync()
    if cuda:
        torch.cuda.reset_peak_memory_stats()
    start = time.perf_counter()
    for step in range(args.iters):
        log_vars = model.train_step(batches[step % 4], optim_wrapper)
        losses.append(float(log_vars['loss']))
    sync()
    seconds = (time.perf_counter() - start) / args.iters
    if cuda:
        peak_mb = torch.cuda.max_memory_allocated() / 2**20
    else:
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return dict(
        config=osp.basename(args.configs[0]),
        seconds_per_step=seconds,
        peak_mb=peak_mb,
        finite=bool(np.isfinite(losses).all()),
        last_loss=losses[-1])


def measure(config: str, args: argparse.Namespace, folder: str,
            index: int = 0) -> Dict[str, object]:
    """Measure one config in a process of its own (:func:`measure_one`).

    Args:
        config (str): The config.
        args (argparse.Namespace): The arguments (:func:`build_parser`).
        folder (str): Where its output and result file go.
        index (int): Its place in the list (names its files, so that two
            configs of one name do not meet). Defaults to 0.

    Returns:
        dict: Its result (:func:`measure_one`).
    """
    name = f'{index}-{osp.splitext(osp.basename(config))[0]}'
    output = osp.join(folder, f'{name}.json')
    log = osp.join(folder, f'{name}.out')
    command = [sys.executable, '-m', MODULE, config, '--single', output,
               '--crop', *map(str, args.crop), '--batch', str(args.batch),
               '--iters', str(args.iters), '--warmup', str(args.warmup),
               '--device', args.device, '--seed', str(args.seed)]
    if args.amp:
        command.append('--amp')
    if args.cfg_options:
        command += ['--cfg-options', *args.cfg_options]
    # the thread count left as it is: one measurement at a time
    code = run_process(command, log, threads=None).code
    if code != 0 or not osp.isfile(output):
        with open(log, encoding='utf-8') as f:
            sys.exit(f'{config} failed:\n{f.read()[-4000:]}')
    with open(output, encoding='utf-8') as f:
        return json.load(f)


def print_table(results: List[dict], args: argparse.Namespace) -> None:
    """Print the results, the first one the baseline of the ratios."""
    base = results[0]
    memory = 'peak CUDA MB' if args.device.startswith('cuda') else 'max RSS MB'
    print(f'device={args.device} amp={args.amp} crop={tuple(args.crop)} '
          f'batch={args.batch} iters={args.iters}')
    print(f'| config | s/step | {memory} | time ratio | memory ratio | '
          'finite loss |')
    print('|---|---|---|---|---|---|')
    for result in results:
        print(f"| {result['config']} | {result['seconds_per_step']:.4f} | "
              f"{result['peak_mb']:.0f} | "
              f"{result['seconds_per_step'] / base['seconds_per_step']:.3f} | "
              f"{result['peak_mb'] / base['peak_mb']:.3f} | "
              f"{result['finite']} |")


def main(argv: Optional[Sequence[str]] = None) -> List[dict]:
    """Measure the configs and print the table.

    Args:
        argv (Sequence[str], optional): The arguments. Defaults to None
            (``sys.argv[1:]``).

    Returns:
        list[dict]: The results (:func:`measure_one`), configs in order.
    """
    args = build_parser().parse_args(argv)
    if args.single:
        result = measure_one(args)
        write_json(args.single, result)
        return [result]
    with tempfile.TemporaryDirectory(prefix='step_cost.') as folder:
        results = [
            measure(config, args, folder, index)
            for index, config in enumerate(args.configs)
        ]
    print_table(results, args)
    return results


if __name__ == '__main__':
    main()
