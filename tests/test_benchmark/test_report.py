"""mil_seg.benchmark.report: the ranked table, the differences with paired
bootstrap intervals, the per-class plot and the winner's config, on
fabricated runs (no training)."""
import os.path as osp
from decimal import Decimal

import numpy as np
import pytest
from mmengine.config import Config

from mil_seg.benchmark import cli, report
from mil_seg.benchmark.bootstrap import ImageSums, paired_bootstraps
from mil_seg.benchmark.results import load_result
from mil_seg.benchmark.run_config import build_run_config
from mil_seg.benchmark.runs import method_runs
from mil_seg.errors import UserError

CLASSES = ['road', 'sky', 'car', 'sign', 'bike']
PRIOR = [500, 300, 100, 20, 5]
GROUPS = ['head', 'head', 'body', 'tail', 'tail']


def fabricated(tmp_path, method, seed, skill, rng):
    """A run's result and its per-image sums (6 images)."""
    label = rng.integers(20, 80, size=(6, 5)).astype(float)
    inter = np.floor(skill * label * rng.uniform(0.8, 1.0, size=(6, 5)))
    union = label + np.floor(0.2 * label)
    path = str(tmp_path / f'{method}-{seed}_sums.npz')
    np.savez(path, intersection=inter, union=union, pred_area=union,
             label_area=label,
             images=np.array([f'img{i}.png' for i in range(6)]),
             classes=np.array(CLASSES), groups=np.array(GROUPS),
             frequency_groups=np.array([], dtype=str))
    iou = 100 * inter.sum(0) / union.sum(0)
    metrics = dict(mIoU=iou.mean(), mIoU_head=iou[:2].mean(),
                   mIoU_body=iou[2], mIoU_tail=iou[3:].mean())
    return dict(method=method, seed=seed, iters=4, values={}, tuning=False,
                metrics=metrics, classes=CLASSES, iou=list(iou),
                prior_counts=PRIOR, step_s=0.1 * (1 + skill), peak_mb=100.0,
                memory_kind='rss', train_seconds=1.0,
                per_image_sums=path), ImageSums(inter, union)


@pytest.fixture
def runs(tmp_path):
    rng = np.random.default_rng(0)
    results, sums = [], {}
    # gml best, lace close to ce; gml has a seed ce lacks
    for method, skill, seeds in (('ce', 0.5, (0, 1)), ('lace', 0.52, (0, 1)),
                                 ('gml', 0.7, (0, 1, 2))):
        for seed in seeds:
            result, image_sums = fabricated(tmp_path, method, seed, skill,
                                            rng)
            results.append(result)
            sums[method, seed] = image_sums
    return results, sums


def parse(tmp_path, *extra):
    return cli.parse_args(['--methods', 'ce', 'lace', 'gml', '--seeds', '0',
                           '1', '2', '--work-dir', str(tmp_path / 'work'),
                           '--results-out', str(tmp_path / 'lt.json'),
                           *extra])


def expected_difference(sums, method, other):
    """The paired bootstrap of ``method`` minus ``other`` over seeds 0 and
    1, each group's classes as the fabricated sums group them."""
    sets = {'mIoU': None, 'mIoU_head': [0, 1], 'mIoU_body': [2],
            'mIoU_tail': [3, 4]}
    return paired_bootstraps([sums[method, 0], sums[method, 1]],
                             [sums[other, 0], sums[other, 1]], sets,
                             **report.BOOTSTRAP)


def test_differences_to_ce_and_to_the_best_with_intervals(tmp_path, runs,
                                                         capsys):
    results, sums = runs
    args = parse(tmp_path)
    summary = report.summarize(args, results, {})
    rows = {row['method']: row for row in summary['rows']}
    assert [summary['rows'][i]['method'] for i in summary['order']] == [
        'gml', 'lace', 'ce']
    assert rows['gml']['rank'] == 1
    # lace: minus CE and minus GML (the best); GML: minus CE only
    assert set(rows['lace']['differences']) == {'CE', 'GML (per-class T_c)'}
    assert set(rows['gml']['differences']) == {'CE'}
    assert set(rows['ce']['differences']) == {'GML (per-class T_c)'}
    assert rows['lace']['differences']['CE'] == dict(
        seeds=[0, 1], metrics=expected_difference(sums, 'lace', 'ce'))
    # GML's seed 2 has no CE run: left out, and said so
    gml = rows['gml']['differences']['CE']
    assert gml['seeds'] == [0, 1]
    assert any('seed(s) 2 of only one of them left out' in note
               for note in summary['notes'])
    assert gml['metrics']['mIoU'].significant
    assert gml['metrics']['mIoU'].estimate == pytest.approx(np.mean(
        [results[4 + s]['metrics']['mIoU'] - results[s]['metrics']['mIoU']
         for s in (0, 1)]))

    report.print_table(args, summary)
    out = capsys.readouterr().out
    d = gml['metrics']['mIoU']
    assert (f'| GML (per-class T_c) | CE | {d.estimate:+.2f} '
            f'[{d.low:.2f}, {d.high:.2f}]*') in out
    assert '| LA-CE | GML (per-class T_c) (best) | -' in out
    ranked = out.split('ranked by mIoU')[1].splitlines()
    assert [line.split(' | ')[0] for line in ranked
            if line.startswith('| ') and '---' not in line][1:] == [
                '| GML (per-class T_c)', '| LA-CE', '| CE']

    report.write_results(args, summary, {})
    document = load_result(str(tmp_path / 'lt.json'))
    assert document['schema'] == 2 and document['rank_by'] == 'mIoU'
    assert document['bootstrap']['images'] == 6
    assert 'seed(s) 2' in document['bootstrap']['notes']
    by_label = {row['label']: row for row in document['rows']}
    assert [row['label'] for row in document['rows']] == [
        'CE', 'LA-CE', 'GML (per-class T_c)']  # --methods order, ranked
    assert by_label['CE']['rank'] == 3
    recorded = by_label['GML (per-class T_c)']['differences']['CE']
    assert recorded['seeds'] == [0, 1]
    assert recorded['metrics']['mIoU'] == dict(
        estimate=Decimal(f'{d.estimate:.2f}'), low=Decimal(f'{d.low:.2f}'),
        high=Decimal(f'{d.high:.2f}'), significant=True)


def test_the_table_ranks_by_the_chosen_metric(tmp_path, runs):
    results, _ = runs
    # lower is better for a cost column: CE's steps are the fastest
    summary = report.summarize(parse(tmp_path, '--rank-by', 'step_s'),
                               results, {})
    assert [summary['rows'][i]['method'] for i in summary['order']] == [
        'ce', 'lace', 'gml']
    # the best is now CE: the differences are to CE only
    assert all(set(row['differences']) <= {'CE'}
               for row in summary['rows'])
    # a class group
    for r in results:
        if r['method'] == 'lace':
            r['metrics']['mIoU_tail'] = 99.0
    summary = report.summarize(parse(tmp_path, '--rank-by', 'mIoU_tail'),
                               results, {})
    assert summary['rows'][summary['order'][0]]['method'] == 'lace'
    with pytest.raises(UserError, match='--rank-by mIoU_rare: no run '
                       'reported it'):
        report.summarize(parse(tmp_path, '--rank-by', 'mIoU_rare'),
                         results, {})
    with pytest.raises(SystemExit):
        parse(tmp_path, '--rank-by', 'accuracy')


def test_compare_with_adds_a_method_every_row_is_compared_to(
        tmp_path, runs, capsys):
    results, sums = runs
    args = parse(tmp_path, '--compare-with', 'lace')
    summary = report.summarize(args, results, {})
    rows = {row['method']: row for row in summary['rows']}
    # beside CE and the best (GML): LA-CE, for every other row
    assert set(rows['gml']['differences']) == {'CE', 'LA-CE'}
    assert set(rows['ce']['differences']) == {'GML (per-class T_c)',
                                              'LA-CE'}
    assert set(rows['lace']['differences']) == {'CE', 'GML (per-class T_c)'}
    assert rows['gml']['differences']['LA-CE'] == dict(
        seeds=[0, 1], metrics=expected_difference(sums, 'gml', 'lace'))
    report.print_table(args, summary)
    assert '| CE | LA-CE | -' in capsys.readouterr().out
    with pytest.raises(SystemExit):
        parse(tmp_path, '--compare-with', 'cwce')
    assert 'not in --methods' in capsys.readouterr().err


def test_the_result_file_keeps_every_class_iou_beyond_the_rarest_shown(
        tmp_path, runs, monkeypatch):
    results, _ = runs
    monkeypatch.setattr(report, 'NUM_RAREST', 2)
    args = parse(tmp_path)
    summary = report.summarize(args, results, {})
    assert summary['rarest'] == ['IoU_bike', 'IoU_sign']  # rarest first
    report.write_results(args, summary, {})
    document = load_result(str(tmp_path / 'lt.json'))
    assert [m for m in document['metrics'] if m.startswith('IoU_')] == [
        'IoU_bike', 'IoU_sign']
    ce_seed1 = next(r for r in results if r['method'] == 'ce'
                    and r['seed'] == 1)
    recorded = document['rows'][0]['seeds']['1']
    assert [k for k in recorded if k.startswith('IoU_')] == [
        'IoU_bike', 'IoU_sign', 'IoU_road', 'IoU_sky', 'IoU_car']
    for name, iou in zip(CLASSES, ce_seed1['iou']):
        assert recorded[f'IoU_{name}'] == Decimal(f'{iou:.2f}')


def test_runs_without_sums_are_left_out_of_the_differences(tmp_path, runs):
    results, _ = runs
    for r in results:
        if r['method'] == 'lace':
            del r['per_image_sums']  # evaluated before sums were written
    summary = report.summarize(parse(tmp_path), results, {})
    rows = {row['method']: row for row in summary['rows']}
    assert rows['lace']['differences'] == {}
    assert 'CE' in rows['gml']['differences']
    assert any('LA-CE seed 0, LA-CE seed 1 left out' in note
               for note in summary['notes'])


def test_per_class_plot_and_winner_config(tmp_path, runs):
    results, _ = runs
    args = parse(tmp_path)
    summary = report.summarize(args, results, {})
    plot, winner = report.output_paths(args)
    assert plot == str(tmp_path / 'lt-classes.png')
    assert winner == str(tmp_path / 'lt-winner.py')
    report.write_class_plot(args, summary, results, plot)
    with open(plot, 'rb') as f:
        assert f.read(8) == b'\x89PNG\r\n\x1a\n'
    assert osp.getsize(plot) > 10000

    # the winner (GML) at a tuned value, as its seed-0 run trains it
    summary['rows'][2]['values'] = {'model.decode_head.prior.tau': 0.5}
    gml_runs = method_runs('gml', 0, 4, summary['rows'][2]['values'], False,
                           str(tmp_path / 'work' / 'gml' / 'seed0'))
    settings = cli.settings_of(args)
    report.write_winner(args, settings, summary, gml_runs, winner)
    text = open(winner).read()
    assert text.startswith("# The benchmark's winner by mIoU: GML "
                           '(per-class T_c), at '
                           'model.decode_head.prior.tau=0.5.')
    cfg = Config.fromfile(winner)
    trained = build_run_config(settings, gml_runs[-1])
    assert cfg.model == trained.model
    assert cfg.model.decode_head.prior.tau == 0.5
    assert cfg.train_cfg.max_iters == 4
    assert 'output_file' not in cfg.val_evaluator
    assert 'output_file' not in cfg.test_evaluator
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS
    init_default_scope('mmseg')
    model = MODELS.build(cfg.model)
    assert type(model).__name__ == cfg.model.type


def test_runs_on_other_images_get_a_note_not_a_crash(tmp_path, runs):
    results, _ = runs
    path = next(r['per_image_sums'] for r in results
                if r['method'] == 'lace' and r['seed'] == 1)
    with np.load(path) as data:
        arrays = dict(data)
    arrays['images'] = arrays['images'][::-1]
    np.savez(path, **arrays)
    summary = report.summarize(parse(tmp_path), results, {})
    rows = {row['method']: row for row in summary['rows']}
    assert rows['lace']['differences'] == {}
    assert any(note.startswith('LA-CE minus CE: the runs were evaluated on '
                               'different images') for note in
               summary['notes'])
    assert 'CE' in rows['gml']['differences']
