"""mil_seg.benchmark.step_cost: two configs measured in their own
processes, one table with the baseline's ratios (tiny settings)."""
import os.path as osp

import numpy as np

from mil_seg.benchmark import step_cost

from ..tool_runner import ROOT


def test_the_label_maps_are_long_tailed():
    labels = step_cost.long_tailed_label_map(
        np.random.default_rng(0), 5, 64, 48)
    assert labels.shape == (64, 48)
    counts = np.bincount(labels[labels != 255], minlength=5)
    assert counts[0] == counts.max() and 0 < (labels == 255).mean() < 0.05


def test_seg_step_cost_compares_two_configs(capsys, monkeypatch):
    monkeypatch.chdir(ROOT)  # relative config paths, as the README's
    config = osp.join('configs', 'gml_seg',
                      'demo_gml_tiny_1xb8-1k_synthetic-lt-64x64.py')
    baseline = osp.join('configs', 'gml_seg',
                        'demo_ce_tiny_1xb8-1k_synthetic-lt-64x64.py')
    results = step_cost.main([baseline, config, '--crop', '32', '32',
                              '--batch', '2', '--iters', '2', '--warmup',
                              '1'])
    assert [r['config'] for r in results] == [
        osp.basename(baseline), osp.basename(config)]
    assert all(r['finite'] and r['seconds_per_step'] > 0 for r in results)
    rows = [line for line in capsys.readouterr().out.splitlines()
            if line.startswith('| demo_')]
    assert len(rows) == 2
    assert rows[0].split('|')[4].strip() == '1.000'  # baseline ratio
    assert rows[1].split('|')[6].strip() == 'True'  # finite loss
