"""How the GML contrastive terms scale with anchors N, queue K and dim D.

Times forward + backward of both contrastive terms (``L_con`` and
``L_con_T`` of :func:`mil_seg.gml.gml_contrastive_terms`) over a grid, and
beside each the N x K x D similarity product alone (forward + backward) as
the floor, so the ratio shows the cost of the class-wise log-mean-exp::

    python tools/benchmarks/gml_loss_scaling.py [--device cuda] \
        [--anchors 512 1024 2048] [--queue 4096 16384] [--dims 128 256] \
        [--classes 150] [--repeats 5]
"""
import argparse
import itertools
import time

import torch

from mil_seg.gml import ClassPrior, gml_contrastive_terms


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--anchors', type=int, nargs='+',
                        default=[256, 1024, 2048])
    parser.add_argument('--queue', type=int, nargs='+',
                        default=[4096, 16384])
    parser.add_argument('--dims', type=int, nargs='+', default=[64, 128])
    parser.add_argument('--classes', type=int, default=150)
    parser.add_argument('--repeats', type=int, default=5)
    return parser.parse_args()


def timed(fn, repeats: int, device: str) -> float:
    """Median seconds of ``fn`` over ``repeats`` runs after one warm-up."""
    fn()
    times = []
    for _ in range(repeats):
        if device.startswith('cuda'):
            torch.cuda.synchronize()
        start = time.perf_counter()
        fn()
        if device.startswith('cuda'):
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]


def main() -> None:
    args = parse_args()
    device = torch.device(args.device)
    generator = torch.Generator().manual_seed(0)
    print(f'device={args.device} classes={args.classes} '
          f'(median of {args.repeats}, forward + backward)')
    print('| N | K | D | GML terms ms | NxKxD product ms | ratio | '
          'peak extra MB |')
    print('|---|---|---|---|---|---|---|')
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

        def gml_step():
            terms = gml_contrastive_terms(query, keys, key_labels, labels,
                                          prior.adjust, log_temperature,
                                          query_ids, key_ids)
            (terms['loss_con'].mean() + terms['loss_temp'].mean()).backward()

        def product_step():
            (query @ keys.t()).sum().backward()

        if device.type == 'cuda':
            torch.cuda.reset_peak_memory_stats()
            base = torch.cuda.memory_allocated()
        gml_seconds = timed(gml_step, args.repeats, args.device)
        extra_mb = (torch.cuda.max_memory_allocated() - base) / 2**20 \
            if device.type == 'cuda' else float('nan')
        product_seconds = timed(product_step, args.repeats, args.device)
        print(f'| {num_anchors} | {queue_size} | {dim} | '
              f'{1e3 * gml_seconds:.1f} | {1e3 * product_seconds:.1f} | '
              f'{gml_seconds / product_seconds:.1f} | {extra_mb:.0f} |')


if __name__ == '__main__':
    main()
