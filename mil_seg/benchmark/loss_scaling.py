"""How the GML contrastive terms scale: anchors N, queue K and dim D.

Times forward + backward of both contrastive terms (``L_con`` and
``L_con_T`` of :func:`mil_seg.gml.gml_contrastive_terms`) over a grid, and
beside each the N x K x D similarity product alone (forward + backward) as
the floor, so the ratio shows the cost of the class-wise log-mean-exp. The
implementation the package had before it shared one similarity and one
exponential between the two terms (``old_contrastive_terms`` below, kept
only here, as the reference of the comparison) is timed in the same run::

    python -m mil_seg.benchmark.loss_scaling [--device cuda] \\
        [--anchors 512 1024 2048] [--queue 4096 16384] [--dims 128 256] \\
        [--classes 150] [--repeats 5] [--no-old]
    # the same from a checkout
    python tools/benchmarks/gml_loss_scaling.py ...

Peak N x K buffers: one untimed pass of each step runs under
:class:`LargeBufferCounter`, a ``TorchDispatchMode`` that adds up the bytes
of the live tensor storages of at least N * K elements that the step's
operators (forward and backward) allocate, and reports their peak in units
of one N x K float32 matrix (a bool N x K mask counts 0.25). Inputs made
before the step (query, keys) are not counted, nor are buffers smaller than
N x K (the N x D and K x D gradients while D < N).
"""
import argparse
import itertools
import time
import weakref
from typing import Callable, Dict, List, Optional, Sequence, Tuple

import torch
from torch import Tensor
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_leaves

from ..gml import ClassPrior, gml_contrastive_terms
from ..gml.functional import (MAX_LOG_TEMPERATURE, MIN_LOG_TEMPERATURE,
                              float32_no_autocast, masked_cross_entropy)

#: The module ``python -m`` runs.
MODULE = 'mil_seg.benchmark.loss_scaling'

# The old path's switch from a K x C one-hot product to scatter_add.
OLD_ONE_HOT_MAX_ELEMENTS = 2**25


def old_class_log_mean_exp(similarity: Tensor,
                           key_labels: Tensor,
                           num_classes: int,
                           key_mask: Optional[Tensor] = None
                           ) -> Tuple[Tensor, Tensor]:
    """``class_log_mean_exp`` as of commit 60e4877 (reference only)."""
    num_queries, num_keys = similarity.shape
    index = key_labels.view(1, num_keys).expand(num_queries, num_keys)
    if key_mask is None:
        mask = torch.ones_like(similarity, dtype=torch.bool)
    else:
        mask = key_mask.to(torch.bool).expand(num_queries, num_keys)
    neg_inf = similarity.new_tensor(float('-inf'))
    masked_similarity = torch.where(mask, similarity.detach(), neg_inf)
    class_max = similarity.new_full((num_queries, num_classes),
                                    float('-inf'))
    class_max.scatter_reduce_(
        1, index, masked_similarity, reduce='amax', include_self=True)
    class_max = torch.where(
        torch.isfinite(class_max), class_max, torch.zeros_like(class_max))
    shifted = torch.where(mask, similarity - class_max.gather(1, index),
                          neg_inf)
    exp_shifted = shifted.exp()
    use_one_hot = num_keys * num_classes <= OLD_ONE_HOT_MAX_ELEMENTS
    if use_one_hot:
        one_hot = torch.nn.functional.one_hot(key_labels, num_classes).to(
            similarity.dtype)
        sums = exp_shifted @ one_hot
    else:
        sums = similarity.new_zeros((num_queries, num_classes))
        sums = sums.scatter_add(1, index, exp_shifted)
    if key_mask is None or key_mask.dim() == 1:
        used = key_labels if key_mask is None else key_labels[key_mask.to(
            torch.bool)]
        counts = torch.bincount(used, minlength=num_classes).to(
            similarity.dtype).expand(num_queries, num_classes)
    elif use_one_hot:
        counts = mask.to(similarity.dtype) @ one_hot
    else:
        counts = similarity.new_zeros((num_queries, num_classes))
        counts = counts.scatter_add(1, index, mask.to(similarity.dtype))
    has_key = counts > 0
    tiny = torch.finfo(similarity.dtype).tiny
    scores = sums.clamp_min(tiny).log() - counts.clamp_min(1).log() + class_max
    scores = torch.where(has_key, scores, torch.zeros_like(scores))
    return scores, has_key


def old_contrastive_terms(query: Tensor,
                          keys: Tensor,
                          key_labels: Tensor,
                          labels: Tensor,
                          adjust: Callable[[Tensor], Tensor],
                          log_temperature: Tensor,
                          query_ids: Optional[Tensor] = None,
                          key_ids: Optional[Tensor] = None,
                          key_mask: Optional[Tensor] = None
                          ) -> Dict[str, Tensor]:
    """``gml_contrastive_terms`` as of commit 60e4877 (reference only)."""
    num_classes = log_temperature.shape[0]
    with float32_no_autocast(query):
        query = query.float()
        keys = keys.float().to(query.device)
        key_labels = key_labels.to(query.device)
        log_temperature = log_temperature.float().clamp(
            MIN_LOG_TEMPERATURE, MAX_LOG_TEMPERATURE)
        similarity = query @ keys.t()
        key_temperature = log_temperature.exp()[key_labels]
        scores, has_key = old_class_log_mean_exp(
            similarity / key_temperature.detach(), key_labels, num_classes,
            key_mask)
        loss_con, valid_con = masked_cross_entropy(adjust(scores), labels,
                                                   has_key)
        temp_mask = key_mask
        if query_ids is not None:
            key_ids = key_ids.to(query.device)
            same_sample = (query_ids[:, None] == key_ids[None, :]) & (
                key_ids[None, :] >= 0)
            temp_mask = ~same_sample if key_mask is None else (
                key_mask.to(torch.bool) & ~same_sample)
        scores_temp, has_key_temp = old_class_log_mean_exp(
            similarity.detach() / key_temperature, key_labels, num_classes,
            temp_mask)
        loss_temp, valid_temp = masked_cross_entropy(adjust(scores_temp),
                                                     labels, has_key_temp)
    return dict(
        loss_con=loss_con,
        loss_temp=loss_temp,
        valid_con=valid_con,
        valid_temp=valid_temp)


class LargeBufferCounter(TorchDispatchMode):
    """Peak bytes of live tensor storages of at least ``min_elements``.

    Every operator output whose storage is new and large enough is counted
    until the last tensor seen on that storage is freed (a finaliser on each
    tensor; PyTorch keeps a tensor's Python object alive while autograd
    holds the tensor, so a buffer saved for the backward stays counted).
    """

    def __init__(self, min_elements: int) -> None:
        super().__init__()
        self.min_elements = min_elements
        self.live = dict()  # storage pointer -> [bytes, tensors seen]
        self.current = 0
        self.peak = 0

    def _release(self, pointer: int) -> None:
        entry = self.live[pointer]
        entry[1] -= 1
        if entry[1] == 0:
            self.current -= entry[0]
            del self.live[pointer]

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        for tensor in tree_leaves(out):
            if not isinstance(tensor, torch.Tensor):
                continue
            storage = tensor.untyped_storage()
            if storage.nbytes() < self.min_elements * tensor.element_size():
                continue
            pointer = storage.data_ptr()
            if pointer not in self.live:
                self.live[pointer] = [storage.nbytes(), 0]
                self.current += storage.nbytes()
                self.peak = max(self.peak, self.current)
            self.live[pointer][1] += 1
            weakref.finalize(tensor, self._release, pointer)
        return out


def peak_buffers(fn: Callable[[], None], num_queries: int,
                 num_keys: int) -> float:
    """Peak live N x K buffers of ``fn`` (:class:`LargeBufferCounter`).

    Args:
        fn (Callable): The step.
        num_queries (int): N.
        num_keys (int): K.

    Returns:
        float: The peak, in N x K float32 matrices.
    """
    counter = LargeBufferCounter(num_queries * num_keys)
    with counter:
        fn()
    return counter.peak / (4 * num_queries * num_keys)


def build_parser() -> argparse.ArgumentParser:
    """The benchmark's arguments."""
    parser = argparse.ArgumentParser(
        prog=f'python -m {MODULE}', description=__doc__.split('\n')[0])
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--anchors', type=int, nargs='+',
                        default=[256, 1024, 2048])
    parser.add_argument('--queue', type=int, nargs='+',
                        default=[4096, 16384])
    parser.add_argument('--dims', type=int, nargs='+', default=[64, 128])
    parser.add_argument('--classes', type=int, default=150)
    parser.add_argument('--repeats', type=int, default=5)
    parser.add_argument('--no-old', action='store_true',
                        help='skip the old implementation')
    return parser


def timed(fns: Dict[str, Callable[[], None]], repeats: int,
          device: str) -> Dict[str, float]:
    """Median seconds of each of ``fns`` over ``repeats`` runs after one
    warm-up, the functions taking turns in every repeat (so that a load
    from other processes falls on all of them alike).

    Args:
        fns (dict): The functions by name.
        repeats (int): Timed runs of each.
        device (str): Their device (CUDA is synchronised around a run).

    Returns:
        dict: Median seconds by name.
    """
    times = {name: [] for name in fns}
    for name, fn in fns.items():
        fn()
    for _ in range(repeats):
        for name, fn in fns.items():
            if device.startswith('cuda'):
                torch.cuda.synchronize()
            start = time.perf_counter()
            fn()
            if device.startswith('cuda'):
                torch.cuda.synchronize()
            times[name].append(time.perf_counter() - start)
    return {name: sorted(t)[len(t) // 2] for name, t in times.items()}


def peak_extra_mb(fn: Callable[[], None], device: torch.device) -> float:
    """Peak CUDA memory of ``fn`` above what was allocated before.

    Args:
        fn (Callable): The step.
        device (torch.device): Its device.

    Returns:
        float: MB; NaN on other devices than CUDA.
    """
    if device.type != 'cuda':
        return float('nan')
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    base = torch.cuda.memory_allocated()
    fn()
    torch.cuda.synchronize()
    return (torch.cuda.max_memory_allocated() - base) / 2**20


def main(argv: Optional[Sequence[str]] = None) -> List[dict]:
    """Time the grid and print one table row a grid point.

    Args:
        argv (Sequence[str], optional): The arguments. Defaults to None
            (``sys.argv[1:]``).

    Returns:
        list[dict]: A row a grid point: ``anchors``, ``queue``, ``dim``,
        ``seconds``, ``peaks`` (N x K buffers) and ``extra_mb`` (CUDA peak
        above the inputs), the last three by step: ``product``, ``new``
        and, unless ``--no-old``, ``old``.
    """
    args = build_parser().parse_args(argv)
    rows = []
    device = torch.device(args.device)
    generator = torch.Generator().manual_seed(0)
    print(f'device={args.device} classes={args.classes} threads='
          f'{torch.get_num_threads()} (median of {args.repeats}, taking '
          'turns, forward + backward; peak NxK: live N x K buffers, in '
          'N x K float32 matrices)')
    print('| N | K | D | GML terms ms | NxKxD product ms | ratio | '
          'old terms ms | old ratio | peak NxK | old peak NxK | '
          'product peak NxK | peak extra MB | old peak extra MB |')
    print('|---|---|---|---|---|---|---|---|---|---|---|---|---|')
    for num_anchors, queue_size, dim in itertools.product(
            args.anchors, args.queue, args.dims):
        query = torch.randn(num_anchors, dim, generator=generator)
        keys = torch.randn(queue_size, dim, generator=generator)
        query = torch.nn.functional.normalize(query, dim=1).to(device)
        keys = torch.nn.functional.normalize(keys, dim=1).to(device)
        query.requires_grad_(True)
        keys.requires_grad_(True)
        labels = torch.randint(0, args.classes, (num_anchors, ),
                               generator=generator).to(device)
        key_labels = torch.randint(0, args.classes, (queue_size, ),
                                   generator=generator).to(device)
        prior = ClassPrior(
            args.classes,
            counts=torch.randn(args.classes, generator=generator).softmax(0),
            smoothing=0.0).to(device)
        log_temperature = torch.full((args.classes, ), 0.1,
                                     device=device).log().requires_grad_()
        query_ids = torch.arange(num_anchors, device=device)
        key_ids = torch.arange(queue_size, device=device)

        def step(terms_fn):

            def run():
                terms = terms_fn(query, keys, key_labels, labels,
                                 prior.adjust, log_temperature, query_ids,
                                 key_ids)
                (terms['loss_con'].mean() +
                 terms['loss_temp'].mean()).backward()

            return run

        def product_step():
            (query @ keys.t()).sum().backward()

        fns = dict(product=product_step, new=step(gml_contrastive_terms))
        if not args.no_old:
            fns['old'] = step(old_contrastive_terms)
        seconds = timed(fns, args.repeats, args.device)
        peaks = {
            name: peak_buffers(fn, num_anchors, queue_size)
            for name, fn in fns.items()
        }
        extra_mb = {
            name: peak_extra_mb(fn, device)
            for name, fn in fns.items()
        }
        nan = float('nan')
        product_seconds, gml_seconds = seconds['product'], seconds['new']
        old_seconds = seconds.get('old', nan)
        print(f'| {num_anchors} | {queue_size} | {dim} | '
              f'{1e3 * gml_seconds:.1f} | {1e3 * product_seconds:.1f} | '
              f'{gml_seconds / product_seconds:.2f} | '
              f'{1e3 * old_seconds:.1f} | '
              f'{old_seconds / product_seconds:.2f} | {peaks["new"]:.2f} | '
              f'{peaks.get("old", nan):.2f} | {peaks["product"]:.2f} | '
              f'{extra_mb["new"]:.0f} | {extra_mb.get("old", nan):.0f} |')
        rows.append(dict(anchors=num_anchors, queue=queue_size, dim=dim,
                         seconds=seconds, peaks=peaks, extra_mb=extra_mb))
    return rows


if __name__ == '__main__':
    main()
