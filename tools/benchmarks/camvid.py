"""CPU-sized benchmark of the segmentation losses on CamVid (240x180).

Trains, with one budget, the package's CamVid configs
(``configs/gml_seg/fcn-{ce,lace,gml}_r18-tiny-d8_1xb8-1k_camvid-240x180.py``,
the same tiny FCN segmentor, data and schedule; ``gml-2stage`` trains
``fcn-gml-teacher_*`` and then ``fcn-gml-student_*`` with that teacher,
each with the budget, and reports the student with the time of both;
``gml-linear``, asked for by name, is GML on the LA-CE model's linear
classifier, an ablation of the contrastive term alone; ``--model
deeplabv3plus`` swaps the FCN head for a tiny DeepLabV3+ head, decoder at
stride 4, in ``deeplabv3plus-{ce,lace,gml,gml-linear}_*``, which have no
two-stage pair) through the real ``tools/train.py``, evaluates each final
checkpoint on the val split with ``tools/test.py --out`` and prints one
markdown table:

- mIoU and the mIoU of the head / body / tail groups (by share of the
  training pixel prior ``mil_seg/priors/camvid.json``, split (0.5, 0.9));
- the IoU of the five rarest classes of that prior;
- training wall time and peak memory (max RSS of the training process tree,
  from ``os.wait4``, so each variant is measured on its own).

Only the schedule is changed by ``--iters``: ``train_cfg.max_iters``, the
end of the poly decay, the validation and checkpoint intervals. It then
prints the step cost of GML vs cross-entropy for the same segmentor with
``tools/benchmarks/seg_step_cost.py`` (crop 180x240, batch 8, no data
loading).

``--results-out FILE`` also writes that table as a result file in the
schema of ``results/README.md`` (one row per variant, the seed's values;
the post-hoc and step-cost tables are not part of it).

Example::

    python tools/benchmarks/camvid.py --src /work/shared/data/camvid-half \\
        --iters 1000 --threads 2
    # a result file for the model zoo
    python tools/benchmarks/camvid.py --iters 800 --seed 0 \\
        --results-out results/camvid-fcn-800-s0.json
    # one variant, smoke run
    python tools/benchmarks/camvid.py --variants gml --iters 5
"""
import argparse
import json
import os
import os.path as osp
import platform
import subprocess
import sys
import time

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
# The result-file writer (standard library only).
sys.path.insert(0, osp.join(REPO, 'tools', 'analysis'))
import render_model_zoo as zoo  # noqa: E402
CONFIG_DIR = osp.join(REPO, 'configs', 'gml_seg')
SUFFIX = 'r18-tiny-d8_1xb8-1k_camvid-240x180'
VARIANTS = ('ce', 'lace', 'gml', 'gml-linear', 'gml-2stage')
# gml-linear (the contrastive term on the LA-CE model) is an ablation:
# asked for by name only.
DEFAULT_VARIANTS = ('ce', 'lace', 'gml', 'gml-2stage')
# The config names gml-2stage trains, in order: stage 1, then stage 2.
TWO_STAGES = ('gml-teacher', 'gml-student')
SEGMENTORS = ('fcn', 'deeplabv3plus')
LABELS = {
    'ce': 'CE',
    'lace': 'LA-CE',
    'gml': 'GML',
    'gml-linear': 'GML (linear classifier)',
    'gml-teacher': 'GML stage 1 (teacher)',
    'gml-student': 'GML two stages (student; time of both)',
}
PRIOR_FILE = osp.join(REPO, 'mil_seg', 'priors', 'camvid.json')
MODEL_NAMES = {'fcn': 'FCN', 'deeplabv3plus': 'DeepLabV3+'}
METRICS = ('mIoU', 'mIoU_head', 'mIoU_body', 'mIoU_tail')


def parse_args() -> argparse.Namespace:
    """Parse the command line.

    Returns:
        argparse.Namespace: The arguments.
    """
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument(
        '--src',
        default='/work/shared/data/camvid-half',
        help='CamVid in the SegNet layout (converted if --data-root lacks '
        'it)')
    parser.add_argument(
        '--data-root', default='data/camvid', help='mmseg-layout CamVid')
    parser.add_argument(
        '--work-dir',
        default='work_dirs/benchmarks/camvid',
        help='one sub-directory per variant')
    parser.add_argument('--iters', type=int, default=1000)
    parser.add_argument(
        '--variants',
        nargs='+',
        default=None,
        choices=VARIANTS,
        help='default: ' + ' '.join(DEFAULT_VARIANTS) + ' (those the '
        'segmentor of --model has configs for)')
    parser.add_argument('--seed', type=int, default=0)
    parser.add_argument(
        '--model',
        default='fcn',
        choices=SEGMENTORS,
        help='segmentor of every variant: the tiny FCN (stride-8 output) or '
        'the tiny DeepLabV3+ (decoder at stride 4)')
    parser.add_argument(
        '--threads',
        type=int,
        default=1,
        help='OMP_NUM_THREADS of every child (1 when the CPU is shared)')
    parser.add_argument(
        '--step-cost-iters',
        type=int,
        default=20,
        help='measured steps of seg_step_cost.py (0 skips it)')
    parser.add_argument(
        '--cfg-options',
        nargs='+',
        default=[],
        help='extra KEY=VALUE overrides applied to every variant')
    parser.add_argument(
        '--reuse',
        action='store_true',
        help='skip a variant whose work dir holds result.json and the final '
        'checkpoint of the same --iters and --seed (an interrupted '
        'benchmark continues)')
    parser.add_argument(
        '--posthoc-taus',
        type=float,
        nargs='+',
        default=[],
        help='also evaluate every logit-adjusted variant at these inference '
        'prior strengths (tools/analysis/posthoc_tau_sweep.py), choosing '
        'one per variant by mIoU on the TRAIN split and reporting val at it')
    parser.add_argument(
        '--results-out',
        default=None,
        help='also write the main table as a result file '
        '(results/README.md); give it its title, source and notes by hand')
    return parser.parse_args()


def config_path(variant: str, model: str = 'fcn') -> str:
    """Path of a variant's config for a segmentor (``--model``)."""
    return osp.join(CONFIG_DIR, f'{model}-{variant}_{SUFFIX}.py')


def has_configs(variant: str, model: str) -> bool:
    """Whether a variant (both stages of ``gml-2stage``) has configs."""
    stages = TWO_STAGES if variant == 'gml-2stage' else (variant, )
    return all(osp.isfile(config_path(stage, model)) for stage in stages)


def check_variants(args: argparse.Namespace) -> None:
    """Fill in the default variants of ``--model``; refuse missing ones
    before anything is trained."""
    if args.variants is None:
        args.variants = [
            v for v in DEFAULT_VARIANTS if has_configs(v, args.model)
        ]
    missing = [v for v in args.variants if not has_configs(v, args.model)]
    if missing:
        raise SystemExit(
            f'error: --model {args.model} has no config for variant(s) '
            f'{", ".join(missing)} (configs/gml_seg/{args.model}-*_{SUFFIX}'
            '.py): drop them from --variants or use --model fcn')


def child_env(threads: int) -> dict:
    """Environment of the child processes (thread count pinned)."""
    env = dict(os.environ)
    env['OMP_NUM_THREADS'] = str(threads)
    env['MKL_NUM_THREADS'] = str(threads)
    return env


def run_measured(command: list, env: dict, log_file: str) -> tuple:
    """Run a command, logging its output; return wall time and peak RSS.

    Args:
        command (list): The command.
        env (dict): Its environment.
        log_file (str): Where its stdout and stderr go.

    Returns:
        tuple: (seconds, peak RSS in MB of the process and its waited-for
        descendants).
    """
    start = time.perf_counter()
    with open(log_file, 'w', encoding='utf-8') as log:
        proc = subprocess.Popen(
            command, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    proc.returncode = code
    if code != 0:
        with open(log_file, encoding='utf-8') as log:
            tail = log.read()[-3000:]
        sys.exit(f'failed ({code}): {" ".join(command)}\n{tail}')
    return seconds, usage.ru_maxrss / 1024


def ensure_data(src: str, data_root: str) -> None:
    """Convert CamVid to the mmseg layout unless it is there already."""
    if all(
            osp.isdir(osp.join(data_root, kind, split))
            for kind in ('img_dir', 'ann_dir') for split in ('train', 'val')):
        return
    subprocess.run([
        sys.executable,
        osp.join(REPO, 'tools', 'dataset_converters', 'camvid.py'), src,
        data_root, '--splits', 'train', 'val'
    ],
                   check=True)


def schedule_options(iters: int, seed: int, data_root: str) -> list:
    """``--cfg-options`` that set the budget (the schedule's shape kept)."""
    warmup = min(50, max(1, iters // 20))
    return [
        f'train_cfg.max_iters={iters}',
        f'train_cfg.val_interval={iters}',
        f'default_hooks.checkpoint.interval={iters}',
        f'param_scheduler.0.end={warmup}',
        f'param_scheduler.1.begin={warmup}',
        f'param_scheduler.1.end={iters}',
        f'randomness.seed={seed}',
        f'train_dataloader.dataset.data_root={data_root}',
        f'val_dataloader.dataset.data_root={data_root}',
        f'test_dataloader.dataset.data_root={data_root}',
    ]


def variant_options(args: argparse.Namespace, extra: tuple = ()) -> list:
    """``--cfg-options`` of a variant's runs: budget, data, user, extra."""
    return schedule_options(args.iters, args.seed, osp.abspath(
        args.data_root)) + list(args.cfg_options) + list(extra)


def train_and_test(variant: str,
                   args: argparse.Namespace,
                   extra_options: tuple = ()) -> dict:
    """Train one variant, test its final checkpoint, collect the numbers.

    Args:
        variant (str): A config name of :func:`config_path`.
        args (argparse.Namespace): The benchmark's arguments.
        extra_options (tuple): More ``--cfg-options``. Defaults to ().

    Returns:
        dict: Metrics, per-class IoU, wall time and peak memory.
    """
    work_dir = osp.abspath(osp.join(args.work_dir, variant))
    os.makedirs(work_dir, exist_ok=True)
    checkpoint = osp.join(work_dir, f'iter_{args.iters}.pth')
    result_file = osp.join(work_dir, 'result.json')
    if args.reuse and osp.isfile(result_file) and osp.isfile(checkpoint):
        with open(result_file, encoding='utf-8') as f:
            result = json.load(f)
        if (result.get('iters'), result.get('seed'),
                result.get('model', 'fcn')) == (args.iters, args.seed,
                                                args.model):
            print(f'[{variant}] reusing {result_file}', flush=True)
            return dict(result, checkpoint=checkpoint)
    config = config_path(variant, args.model)
    options = variant_options(args, extra_options)
    env = child_env(args.threads)
    print(f'[{variant}] training {args.iters} iterations ...', flush=True)
    seconds, peak_mb = run_measured([
        sys.executable,
        osp.join(REPO, 'tools', 'train.py'), config, '--work-dir', work_dir,
        '--cfg-options', *options
    ], env, osp.join(work_dir, 'train.out'))
    metrics_file = osp.join(work_dir, 'test_metrics.json')
    per_class_file = osp.join(work_dir, 'test_per_class.json')
    print(f'[{variant}] testing {checkpoint} ...', flush=True)
    run_measured([
        sys.executable,
        osp.join(REPO, 'tools', 'test.py'), config, checkpoint, '--work-dir',
        osp.join(work_dir, 'test'), '--out', metrics_file, '--cfg-options',
        *options, f'test_evaluator.output_file={per_class_file}'
    ], env, osp.join(work_dir, 'test.out'))
    with open(metrics_file, encoding='utf-8') as f:
        metrics = json.load(f)
    with open(per_class_file, encoding='utf-8') as f:
        per_class = json.load(f)
    result = dict(
        variant=variant,
        metrics=metrics,
        classes=per_class['classes'],
        iou=per_class['per_class']['IoU'],
        groups=per_class['groups'],
        train_seconds=seconds,
        peak_mb=peak_mb,
        checkpoint=checkpoint,
        extra_options=list(extra_options),
        iters=args.iters,
        seed=args.seed,
        model=args.model)
    with open(result_file, 'w', encoding='utf-8') as f:
        json.dump(result, f, indent=1)
    return result


ADJUSTED = ('lace', 'gml', 'gml-linear', 'gml-teacher', 'gml-student')


def sweep(result: dict, args: argparse.Namespace, split: str) -> list:
    """Rows of posthoc_tau_sweep.py for a variant's checkpoint on a split."""
    variant = result['variant']
    work_dir = osp.abspath(osp.join(args.work_dir, variant))
    out = osp.join(work_dir, f'posthoc_tau_{split}.json')
    options = variant_options(args, result.get('extra_options', ())) + [
        f'test_dataloader.dataset.data_prefix.img_path=img_dir/{split}',
        f'test_dataloader.dataset.data_prefix.seg_map_path=ann_dir/{split}'
    ]
    print(f'[{variant}] post-hoc tau sweep on {split} ...', flush=True)
    run_measured([
        sys.executable,
        osp.join(REPO, 'tools', 'analysis', 'posthoc_tau_sweep.py'),
        config_path(variant, args.model), result['checkpoint'], '--work-dir',
        osp.join(work_dir, f'sweep_{split}'), '--out', out, '--taus',
        *[str(t) for t in args.posthoc_taus], '--cfg-options', *options
    ], child_env(args.threads), osp.join(work_dir, f'sweep_{split}.out'))
    with open(out, encoding='utf-8') as f:
        return json.load(f)


def print_posthoc_table(results: list, args: argparse.Namespace) -> None:
    """Val metrics at the inference prior strength chosen on train."""
    lines = []
    for result in results:
        if result['variant'] not in ADJUSTED:
            continue
        train_rows = sweep(result, args, 'train')
        val_rows = {row['tau']: row for row in sweep(result, args, 'val')}
        best = max(train_rows, key=lambda row: row['mIoU'])['tau']
        chosen, base = val_rows[best], val_rows.get(0.0, {})
        cells = [f'{chosen.get(k, float("nan")):.2f}' for k in (
            'mIoU', 'mIoU_head', 'mIoU_body', 'mIoU_tail')]
        cells += [f'{base.get(k, float("nan")):.2f}'
                  for k in ('mIoU', 'mIoU_tail')]
        lines.append(f"| {LABELS[result['variant']]} | {best:g} | " +
                     ' | '.join(cells) + ' |')
    print('\nInference prior strength tau (logits - tau * log pi) chosen '
          'per variant by mIoU on the train split; val at that tau and at '
          'tau = 0 (as trained):')
    print('| loss | tau (train) | val mIoU | head | body | tail | '
          'val mIoU at 0 | tail at 0 |')
    print('|---|---|---|---|---|---|---|---|')
    print('\n'.join(lines))


def rarest_classes(count: int = 5) -> list:
    """Indices of the ``count`` rarest classes of the training prior."""
    with open(PRIOR_FILE, encoding='utf-8') as f:
        counts = json.load(f)['counts']
    return sorted(range(len(counts)), key=lambda c: counts[c])[:count]


def print_table(results: list, iters: int, threads: int,
                model: str) -> None:
    """Print the benchmark's markdown table."""

    def fmt(value):
        return 'n/a' if value is None else f'{value:.2f}'

    rare = rarest_classes()
    classes = results[0]['classes']
    tail = [c for c, g in zip(classes, results[0]['groups']) if g == 'tail']
    print(f'\nCamVid 240x180 val, tiny {model}, {iters} iterations x 8 '
          f'images, {threads} thread(s); tail group: {", ".join(tail)}')
    header = (['loss', 'mIoU', 'head', 'body', 'tail'] +
              [f'IoU {classes[c]}' for c in rare] +
              ['train min', 'peak RSS MB'])
    print('| ' + ' | '.join(header) + ' |')
    print('|' + '---|' * len(header))
    for result in results:
        metrics = result['metrics']
        row = [LABELS[result['variant']]]
        row += [fmt(metrics.get(key)) for key in METRICS]
        row += [fmt(result['iou'][c]) for c in rare]
        row += [f"{result['train_seconds'] / 60:.1f}",
                f"{result['peak_mb']:.0f}"]
        print('| ' + ' | '.join(row) + ' |')


def results_document(results: list, args: argparse.Namespace) -> dict:
    """The main table as a result file (schema of ``results/README.md``).

    Args:
        results (list): The variants' results, as :func:`train_and_test`
            returns them.
        args (argparse.Namespace): The benchmark's arguments.

    Returns:
        dict: The result file, numbers at the table's precision.
    """
    classes = results[0]['classes']
    rare_indices = rarest_classes()
    rare = [f'IoU_{classes[c]}' for c in rare_indices]
    rows = []
    for result in results:
        values = {key: zoo.recorded(result['metrics'].get(key), 2)
                  for key in METRICS}
        values.update({key: zoo.recorded(result['iou'][c], 2)
                       for key, c in zip(rare, rare_indices)})
        values['train_min'] = zoo.recorded(result['train_seconds'] / 60, 1)
        values['peak_rss_mb'] = zoo.recorded(result['peak_mb'], 0)
        row = dict(
            label=LABELS[result['variant']],
            config=osp.relpath(config_path(result['variant'], args.model),
                               REPO).replace(os.sep, '/'),
            seeds={str(args.seed): values})
        if args.cfg_options:
            row['settings'] = '--cfg-options ' + ' '.join(args.cfg_options)
        rows.append(row)
    return dict(
        schema=1,
        title=f'CamVid, tiny {MODEL_NAMES[args.model]}, {args.iters} '
        'iterations',
        task='seg',
        kind='accuracy',
        dataset='CamVid at 240x180, 11 classes, head / body / tail groups '
        'by the share split (0.5, 0.9) of the shipped train pixel prior; '
        'the class columns are its five rarest classes',
        split='val',
        model=f'tiny {MODEL_NAMES[args.model]}',
        crop='180x240',
        schedule=f'{args.iters} iterations x 8 images',
        metrics=list(METRICS) + rare + ['train_min', 'peak_rss_mb'],
        machine=f'{os.cpu_count()} CPU cores ({platform.machine()}), '
        f'{args.threads} thread(s) a run',
        **zoo.provenance(sys.argv),
        source='tools/benchmarks/camvid.py --results-out (say who ran it '
        'and where its work dir is kept)',
        rows=rows)


def write_results(results: list, args: argparse.Namespace) -> None:
    """Write ``--results-out``, checked against the result-file schema."""
    zoo.write_result(results_document(results, args), args.results_out)
    print(f'\nResult file: {args.results_out}', flush=True)


def step_cost(args: argparse.Namespace) -> None:
    """Print seg_step_cost.py's table for CE vs GML (same segmentor)."""
    command = [
        sys.executable,
        osp.join(REPO, 'tools', 'benchmarks', 'seg_step_cost.py'),
        config_path('ce', args.model),
        config_path('gml', args.model), '--crop', '180', '240', '--batch', '8',
        '--iters',
        str(args.step_cost_iters), '--warmup', '3', '--seed',
        str(args.seed)
    ]
    print('\nStep cost, GML vs CE (generated batches, no data loading):',
          flush=True)
    subprocess.run(command, cwd=REPO, env=child_env(args.threads), check=True)


def main() -> None:
    """Run the benchmark."""
    args = parse_args()
    check_variants(args)
    ensure_data(args.src, args.data_root)
    results = []
    for variant in args.variants:
        if variant != 'gml-2stage':
            results.append(train_and_test(variant, args))
            continue
        teacher_name, student_name = TWO_STAGES
        teacher = train_and_test(teacher_name, args)
        student = train_and_test(
            student_name, args,
            (f"model.teacher.checkpoint={teacher['checkpoint']}", ))
        student['train_seconds'] += teacher['train_seconds']
        student['peak_mb'] = max(student['peak_mb'], teacher['peak_mb'])
        results += [teacher, student]
    print_table(results, args.iters, args.threads, args.model)
    if args.results_out:
        write_results(results, args)
    if args.posthoc_taus:
        print_posthoc_table(results, args)
    if args.step_cost_iters > 0:
        step_cost(args)


if __name__ == '__main__':
    main()
