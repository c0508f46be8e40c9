"""The tools are thin shells of the package (issue #33): each is at most
150 lines and reaches the package by importing it, never through
``sys.path`` or a file path; each benchmark shell answers with its
module's arguments. (What the benchmarks do is tested with the package:
tests/test_benchmark/.)"""
import glob
import os.path as osp
import re

import pytest

from ..tool_runner import ROOT, run_tool

TOOLS = sorted(
    osp.relpath(path, ROOT)
    for path in glob.glob(osp.join(ROOT, 'tools', '**', '*.py'),
                          recursive=True))
#: Each benchmark shell, an option only its module has.
BENCHMARK_SHELLS = {
    'tools/benchmarks/cifar10_lt.py': '--variants',
    'tools/benchmarks/efficientnet_lite0.py': '--train-per-class',
    'tools/benchmarks/gml_loss_scaling.py': '--no-old',
    'tools/benchmarks/seg_step_cost.py': '--cfg-options',
}
#: Reaching code by path: inserting into ``sys.path``, or importlib's
#: ``spec_from_file_*`` loaders.
BY_PATH = re.compile(r'sys\.path\.(insert|append)|spec_from_file_\w+')


@pytest.mark.parametrize('tool', TOOLS)
def test_a_tool_is_a_thin_shell(tool):
    with open(osp.join(ROOT, tool), encoding='utf-8') as f:
        text = f.read()
    assert text.count('\n') <= 150, f'{tool}: its logic belongs in mil_seg'
    assert not BY_PATH.search(text), f'{tool}: import the package instead'


@pytest.mark.parametrize('tool', sorted(BENCHMARK_SHELLS))
def test_a_benchmark_shell_runs_its_module(tool):
    result = run_tool(tool, '--help', timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    assert BENCHMARK_SHELLS[tool] in result.stdout
