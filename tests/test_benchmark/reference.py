"""The benchmark that the Slurm and the kill-point tests run and compare
(the fixtures are in this folder's conftest.py; tests cannot import
conftest)."""
import json
from typing import Dict, List, NamedTuple

from ..tool_runner import tool_python

#: Result-file columns that measure the machine, not the method: they
#: differ between any two runs, interrupted or not.
COST_COLUMNS = ('step_s', 'peak_mb', 'time_ratio', 'memory_ratio')


class Benchmark(NamedTuple):
    """A finished benchmark: its data config, arguments, result file and
    printed output, and what its ``--tune-only`` first step printed and
    left (before the full command read its trials back)."""

    data_config: str
    args: List[str]
    results_out: str
    stdout: str
    tune_only_stdout: str
    tune_only_left: List[str]

    @property
    def tuning_out(self) -> str:
        return self.results_out[:-len('.json')] + '-tuning.json'

    @property
    def work_dir(self) -> str:
        return self.args[self.args.index('--work-dir') + 1]


def benchmark_args(data_config: str, work_dir, results_out) -> List[str]:
    """ce and rfs, seeds 0 and 1, 4 iterations, rfs's knob tuned with
    2-iteration trials on 3 of the 10 training images: 3 trials and 4 seed
    runs, 2 at a time."""
    return ['--methods', 'ce', 'rfs', '--iters', '4', '--seeds', '0', '1',
            '--tune', '--tune-iters', '2', '--holdout-fraction', '0.3',
            '--data-config', data_config, '--work-dir', str(work_dir),
            '--jobs', '2', '--model-label', 'tiny test net',
            '--results-out', str(results_out)]


def benchmark_command(*args: str) -> List[str]:
    """``python -m mil_seg.benchmark ARGS`` for a subprocess the test
    watches and kills itself: through the tool server where it is on (the
    benchmark and what it starts, Slurm jobs included, are then the
    server's children; see ``tool_python``)."""
    return [tool_python(), '-m', 'mil_seg.benchmark', *args]


def measured(path: str) -> Dict[str, dict]:
    """A result file's measured values by row label and seed, the cost
    columns left out (what "the same table" means)."""
    with open(path, encoding='utf-8') as f:
        document = json.load(f)
    return {
        row['label']: dict(
            settings=row.get('settings'),
            seeds={seed: {k: v for k, v in values.items()
                          if k not in COST_COLUMNS}
                   for seed, values in row['seeds'].items()})
        for row in document['rows']}
