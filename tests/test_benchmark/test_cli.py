"""mil_seg.benchmark: its held-out split and config surgery by hand, and
the whole command on generated data (another dataset through
--data-config, tuning, seeds, read-back and resume; two-stage GML and
post-hoc prior strength; bad input refused before training)."""
import json
import os
import os.path as osp
import re
import shutil
from pathlib import Path

import pytest
from mmengine.config import Config

from mil_seg.benchmark import cli, report, run_config, tuning
from mil_seg.benchmark.methods import METHODS
from mil_seg.errors import UserError

from ..tool_runner import run_tool

BENCH = ('-m', 'mil_seg.benchmark')


def test_holdout_split_keeps_the_last_frames_of_each_sequence():
    paths = [f'/d/{name}.png' for name in (
        'A_003', 'A_001', 'A_002', 'A_004', 'A_005', 'B_2', 'B_1', 'B_3',
        'B_4', 'B_5', 'C_1')]
    kept, held = tuning.holdout_split(paths, 0.4)
    # A: 2 of 5 held out (A_004, A_005 = indices 3, 4); B: B_4, B_5 (8, 9);
    # C: round(0.4) = 0 of 1
    assert held == [3, 4, 8, 9]
    assert kept == [0, 1, 2, 5, 6, 7, 10]
    # names without '_' form one sequence
    kept, held = tuning.holdout_split([f'{i:02d}.png' for i in range(10)],
                                     0.2)
    assert held == [8, 9]
    with pytest.raises(UserError, match='holdout-fraction'):
        tuning.holdout_split(['a.png', 'b.png'], 0.1)


def test_schedule_scaled_to_the_budget():
    cfg = Config(dict(
        train_cfg=dict(max_iters=1000, val_interval=500),
        param_scheduler=[dict(type='LinearLR', begin=0, end=50),
                         dict(type='PolyLR', begin=50, end=1000)],
        default_hooks=dict(checkpoint=dict(interval=500),
                           logger=dict(interval=50))))
    run_config.scale_schedule(cfg, 800)
    assert [(s.begin, s.end) for s in cfg.param_scheduler] == [(0, 40),
                                                                (40, 800)]
    assert cfg.train_cfg.max_iters == cfg.train_cfg.val_interval == 800
    assert cfg.default_hooks.checkpoint.interval == 200
    run_config.scale_schedule(cfg, 4)  # a boundary after 0 stays after it
    assert [(s.begin, s.end) for s in cfg.param_scheduler] == [(0, 1),
                                                                (1, 4)]
    assert cfg.default_hooks.logger.interval == 1


def test_data_config_replaces_data_prior_and_class_count():
    method = Config(dict(
        model=dict(
            data_preprocessor=dict(size=(180, 240)),
            decode_head=dict(
                num_classes=11,
                prior=dict(type='ClassPrior', num_classes=11, file='camvid',
                           tau=0.75),
                loss_decode=[dict(type='PixelSeesawLoss', num_classes=11)])),
        train_dataloader=dict(batch_size=8, dataset=dict(
            type='RepeatFactorDataset', threshold=0.9,
            dataset=dict(type='CamVidDataset', pipeline=[]))),
        val_dataloader=dict(dataset=dict(type='CamVidDataset', pipeline=[])),
        val_evaluator=dict(type='LongTailIoUMetric', prior='camvid')))
    prior = dict(type='ClassPrior', num_classes=5, file='/mine/prior.json')
    data = Config(dict(
        train_dataloader=dict(batch_size=2, dataset=dict(type='Mine',
                                                         pipeline=[1])),
        val_dataloader=dict(dataset=dict(type='Mine', pipeline=[2])),
        val_evaluator=dict(type='LongTailIoUMetric', prior=prior),
        prior=prior, crop_size=(32, 32)))
    run_config.apply_data_config(method, data)
    head = method.model.decode_head
    assert head.num_classes == 5
    assert head.prior == dict(prior, tau=0.75)  # the method's own tau
    assert head.loss_decode[0].num_classes == 5
    assert method.model.data_preprocessor.size == (32, 32)
    wrapper = method.train_dataloader.dataset
    assert wrapper.type == 'RepeatFactorDataset'
    assert wrapper.threshold == 0.9
    assert wrapper.dataset == dict(type='Mine', pipeline=[1])
    assert method.train_dataloader.batch_size == 2
    assert method.test_dataloader == data.val_dataloader
    assert method.test_evaluator == data.val_evaluator
    with pytest.raises(UserError, match='lacks prior'):
        run_config.apply_data_config(method, Config(dict(
            train_dataloader={}, val_dataloader={}, val_evaluator={})))


@pytest.fixture(scope='module')
def generated_data(bench_data_config):
    """A synthetic long-tailed set (8 classes, 32x32) and its data config:
    the session's one (tests/test_benchmark/conftest.py)."""
    return bench_data_config


def table_rows(stdout: str) -> dict:
    """Rows of the printed main table, cells by label."""
    table = stdout.split('iterations, seeds')[-1]
    return {line.split(' | ')[0][2:]: line.split(' | ')[1:]
            for line in table.splitlines() if line.startswith('| ')
            and not line.startswith('| method') and '---' not in line}


def trial_values(rows, key: str) -> list:
    """The values of ``key`` a tuning file's rows tried, in the order they
    ran; the chosen one."""
    values, chosen = [], None
    for row in rows:
        row_key, value = tuning.tuned_setting('tuning file', row)
        if row_key == key:
            values.append(value)
            chosen = value if row.get('chosen') else chosen
    return values, chosen


def assert_widened_by_the_rule(rows, name: str, widen: int = 2) -> int:
    """A method's trials are its grid, then values past the edge its
    choice was at, each one step of the rule further, and they end with
    the choice inside them, no step left before a bound, or ``widen``
    values added. Returns the number of trials."""
    knob = METHODS[name].knob
    values, chosen = trial_values(rows, knob.key)
    grid = list(knob.values)
    assert values[:len(grid)] == grid
    for i in range(len(grid), len(values)):
        tried = values[:i]
        edge = max(tried) if values[i] > max(tried) else min(tried)
        assert tuning.past_edge(tried, edge, knob.bounds) == values[i]
    assert len(grid) <= len(values) <= len(grid) + widen
    if len(values) < len(grid) + widen:
        assert tuning.past_edge(values, chosen, knob.bounds) is None
    return len(values)


def again(reference, *args: str):
    """The reference's command again in its work dir, without writing its
    result files (which other tests compare against)."""
    argv = list(reference.args)
    position = argv.index('--results-out')
    del argv[position:position + 2]
    return run_tool(*BENCH, *argv, *args, timeout=900)


@pytest.mark.xdist_group('slurm')  # shares reference_benchmark
def test_benchmark_tunes_trains_seeds_and_continues(reference_benchmark):
    work_dir = Path(reference_benchmark.work_dir)
    results_out = reference_benchmark.results_out
    stem = results_out[:-len('.json')]
    rows = table_rows(reference_benchmark.stdout)
    assert set(rows) == {'CE', 'CE + repeat-factor sampling'}
    ce = rows['CE']
    assert ce[0] == '-'
    assert ce[-2].startswith('1.000') and ce[-1].startswith('1.000')
    assert '±' in ce[1]  # two seeds: mean ± std
    knob = rows['CE + repeat-factor sampling'][0]
    assert knob.startswith('threshold=')

    # tuning: three trials on the held-out 3 of 10 images, one chosen,
    # val never read
    tuning = json.load(open(reference_benchmark.tuning_out))
    assert tuning['kind'] == 'tuning' and 'highest held-out' in tuning['rule']
    assert len(tuning['rows']) == assert_widened_by_the_rule(
        tuning['rows'], 'rfs')
    assert sum(bool(row.get('chosen')) for row in tuning['rows']) == 1
    trial = Config.fromfile(str(work_dir / 'tuning' / 'rfs' / '0.5' /
                                'config.py'))
    inner = trial.train_dataloader.dataset.dataset
    assert len(inner.indices) == 7
    assert len(trial.val_dataloader.dataset.indices) == 3
    assert trial.val_dataloader.dataset.data_prefix.img_path.endswith(
        'train')
    final = Config.fromfile(str(work_dir / 'rfs' / 'seed1' / 'config.py'))
    assert 'indices' not in final.train_dataloader.dataset.dataset
    assert final.val_dataloader.dataset.data_prefix.img_path.endswith('val')
    assert final.randomness.seed == 1
    assert final.model.decode_head.num_classes == 8

    document = json.load(open(results_out))
    assert document['kind'] == 'accuracy'
    assert document['model'] == 'tiny test net'
    assert [sorted(row['seeds']) for row in document['rows']] == [
        ['0', '1'], ['0', '1']]
    assert document['rows'][1]['settings'].startswith(
        'train_dataloader.dataset.threshold=')

    # the differences: each method minus CE and minus the best, with
    # paired bootstrap intervals over the 4 val images' per-image sums
    assert document['schema'] == 2 and document['rank_by'] == 'mIoU'
    assert document['bootstrap']['images'] == 4
    ranks = {row['label']: row['rank'] for row in document['rows']}
    assert sorted(ranks.values()) == [1, 2]
    best = next(label for label, rank in ranks.items() if rank == 1)
    rfs = document['rows'][1]
    vs_ce = rfs['differences']['CE']
    assert vs_ce['seeds'] == [0, 1]
    for metric in ('mIoU', 'mIoU_head'):
        difference = vs_ce['metrics'][metric]
        assert difference['low'] <= difference['estimate'] <= \
            difference['high']
    assert 'Differences in points' in reference_benchmark.stdout
    assert '| CE + repeat-factor sampling | CE' in reference_benchmark.stdout
    assert osp.isfile(work_dir / 'ce' / 'seed0' / 'per_class_sums.npz')
    # the per-class plot and the winner's config beside the result file
    assert os.path.getsize(f'{stem}-classes.png') > 10000
    winner = Config.fromfile(f'{stem}-winner.py')
    method = {'CE': 'ce', 'CE + repeat-factor sampling': 'rfs'}[best]
    trained = Config.fromfile(str(work_dir / method / 'seed0' / 'config.py'))
    assert winner.model == trained.model
    assert winner.train_dataloader == trained.train_dataloader  # tuned, mine
    assert winner.model.decode_head.num_classes == 8
    assert 'output_file' not in winner.val_evaluator
    from mmengine.registry import init_default_scope
    from mmseg.registry import MODELS
    init_default_scope('mmseg')
    MODELS.build(winner.model)

    # run again: everything is read back, nothing trained
    read_back = again(reference_benchmark)
    assert read_back.returncode == 0, read_back.stderr[-3000:]
    assert 'training' not in read_back.stdout
    assert 'read back' in read_back.stdout
    assert table_rows(read_back.stdout) == rows

    # an interrupted run: its result gone, its last checkpoint at iter 3
    run_dir = work_dir / 'ce' / 'seed0'
    for name in ('result.json', 'per_class.json', 'iter_4.pth'):
        os.remove(run_dir / name)
    (run_dir / 'last_checkpoint').write_text(str(run_dir / 'iter_3.pth'))
    assert (run_dir / 'iter_3.pth').is_file() or pytest.fail(
        'no intermediate checkpoint kept')
    resumed = again(reference_benchmark)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert '[ce seed 0] resuming 4 iterations' in resumed.stdout
    assert resumed.stdout.count('resuming') == 1
    assert 'Resuming' in (run_dir / 'train.out').read_text() or \
        'resumed' in (run_dir / 'train.out').read_text()
    assert table_rows(resumed.stdout)['CE'][1:-2] == rows['CE'][1:-2]

    # the work dir copied elsewhere (another machine, mount): its runs are
    # read back there, an interrupted one resumes from its own checkpoint
    # though mmengine's last_checkpoint names the old path
    moved = work_dir.parent / 'moved-work'
    shutil.copytree(work_dir, moved)
    moved_run = moved / 'ce' / 'seed0'
    for name in ('result.json', 'per_class.json', 'iter_4.pth'):
        os.remove(moved_run / name)
    (moved_run / 'last_checkpoint').write_text(str(run_dir / 'iter_3.pth'))
    earlier = len((moved_run / 'train.out').read_text())
    there = again(reference_benchmark, '--work-dir', str(moved))
    assert there.returncode == 0, there.stderr[-3000:]
    assert there.stdout.count('resuming') == 1
    assert '] training' not in there.stdout
    log = (moved_run / 'train.out').read_text()[earlier:]
    assert str(moved_run / 'iter_3.pth') in log
    assert str(run_dir / 'iter_3.pth') not in log
    assert table_rows(there.stdout)['CE'][1:-2] == rows['CE'][1:-2]
    shutil.rmtree(moved)

    # other settings in the same work dir are refused, nothing overwritten
    other = run_tool(*BENCH, '--methods', 'ce', '--iters', '6', '--seeds', '0',
                     '--data-config', reference_benchmark.data_config,
                     '--work-dir', str(work_dir))
    assert other.returncode != 0
    assert 'holds a run of other settings' in other.stderr
    assert (run_dir / 'result.json').is_file()


@pytest.mark.xdist_group('slurm')  # shares reference_benchmark
def test_tune_only_writes_the_tuning_table_and_trains_no_seed(
        reference_benchmark):
    """The reference's first step, ``--tune-only``: the three trials, the
    tuning table and no seed run; then the whole command reads the trials
    back and trains only the seeds, at the chosen value."""
    tuned = reference_benchmark.tune_only_stdout
    assert reference_benchmark.tune_only_left == [
        'lt-tuning.json', 'work', 'work/plan.json',
        'work/tuning']  # no seed run, no table
    tuning = json.load(open(reference_benchmark.tuning_out))
    assert tuning['kind'] == 'tuning' and tuning['schedule'] == '2 iterations'
    trials = assert_widened_by_the_rule(tuning['rows'], 'rfs')
    assert tuned.count('training') == trials == len(tuning['rows'])
    assert 'mIoU' in tuning['metrics']
    chosen = [row for row in tuning['rows'] if row.get('chosen')]
    assert len(chosen) == 1

    # the seeds later: the trials are read back, the chosen value trains
    seeds = reference_benchmark.stdout
    assert seeds.count('read back') == trials
    assert seeds.count('] training') == 4  # 2 methods x 2 seeds
    final = Config.fromfile(osp.join(reference_benchmark.work_dir, 'rfs',
                                     'seed0', 'config.py'))
    assert chosen[0]['settings'] == (
        'train_dataloader.dataset.threshold='
        f'{final.train_dataloader.dataset.threshold:g}')


def test_a_run_without_ce_is_warned_that_its_ratios_are_undefined(capsys):
    cli.parse_args(['--methods', 'lace', 'gml'])
    assert 'ce is not in --methods' in capsys.readouterr().err
    cli.parse_args(['--methods', 'ce', 'gml'])
    cli.parse_args(['--methods', 'gml', '--tune-only'])
    assert capsys.readouterr().err == ''


def test_tune_only_without_a_knob_is_refused_naming_the_fix(capsys):
    with pytest.raises(SystemExit):
        cli.parse_args(['--methods', 'ce', 'lovasz', '--tune-only'])
    err = capsys.readouterr().err
    assert 'none of --methods has a knob' in err
    assert 'gml' in err and 'drop --tune-only' in err
    cli.parse_args(['--methods', 'ce', 'lovasz', 'gml', '--tune-only'])


def test_knob_values_replace_a_grid_with_as_many_values(capsys):
    args = cli.parse_args(['--methods', 'ce', 'rfs', 'gml', '--tune',
                           '--knob-values', 'rfs=0.01,0.03,0.1'])
    plan = tuning.TuningPlan(knob_values=args.knob_values)
    assert plan.values('rfs') == (0.01, 0.03, 0.1)
    assert plan.values('gml') == METHODS['gml'].knob.values
    # the bounds are values a knob takes: RFS's 1, post-hoc's negatives
    args = cli.parse_args(['--methods', 'rfs', 'gml', 'gml-posthoc', '--tune',
                           '--knob-values', 'rfs=0.5,0.9,1',
                           'gml-posthoc=-2,-1,0'])
    assert dict(args.knob_values)['gml-posthoc'] == (-2.0, -1.0, 0.0)
    for item, message in (('rfs=0.01,0.03', '3 different numbers'),
                          ('rfs=0.1,0.1,0.2', '3 different numbers'),
                          ('rfs=a,b,c', '3 different numbers'),
                          ('ce=1,2,3', "'ce' is not a method with a knob"),
                          ('rfs=0.5,1,1.5', 'values in [0, 1]; 1.5 lies'),
                          ('focal=-1,1,2', 'values in [0, inf); -1 lies')):
        with pytest.raises(SystemExit):
            cli.parse_args(['--methods', 'rfs', 'focal', '--tune',
                            '--knob-values', item])
        assert message in capsys.readouterr().err
    with pytest.raises(SystemExit):
        cli.parse_args(['--methods', 'rfs', '--knob-values',
                        'rfs=0.01,0.03,0.1'])
    assert 'add --tune' in capsys.readouterr().err


def test_widen_is_a_count_of_tune_and_two_by_default(capsys):
    assert cli.parse_args(['--methods', 'rfs', '--tune']).widen == 2
    assert cli.parse_args(['--methods', 'rfs', '--tune-only', '--widen',
                           '0']).widen == 0
    for argv, message in ((['--widen', '1'], 'add --tune'),
                          (['--tune', '--widen', '-1'], 'give 0')):
        with pytest.raises(SystemExit):
            cli.parse_args(['--methods', 'rfs', *argv])
        assert message in capsys.readouterr().err


def read_tuned(args):
    """read_tuned_values as the command calls it."""
    return tuning.read_tuned_values(args.tuned_from, args.methods,
                                    report.dataset_label(args),
                                    cli.settings_of(args))


def test_tuned_from_reads_back_the_choices_a_tuning_file_records(tmp_path):
    results_out = str(tmp_path / 'lt.json')
    args = cli.parse_args(['--methods', 'lace', 'gml', '--tune-only',
                           '--results-out', results_out])
    trials = {0.5: {'mIoU': 30.0, 'mIoU_tail': 5.0},
              0.75: {'mIoU': 31.5, 'mIoU_tail': 6.0},
              1.0: {'mIoU': 29.0, 'mIoU_tail': 7.0}}
    written = {name: dict(key=METHODS[name].knob.key,
                          name=METHODS[name].knob.name, value=value,
                          default=None, trials=trials)
               for name, value in (('lace', 0.75), ('gml', 0.5))}
    report.write_tuning_results(args, written, report.result_header(args))
    tuning_file = str(tmp_path / 'lt-tuning.json')

    args = cli.parse_args(['--methods', 'ce', 'gml', 'lace',
                           '--tuned-from', tuning_file])
    read = read_tuned(args)
    assert sorted(read) == ['gml', 'lace']  # ce has no knob
    assert tuning.chosen_values('gml', read) == {
        'model.decode_head.prior.tau': 0.5}
    assert tuning.chosen_values('lace', read) == {
        'model.decode_head.loss_decode.prior.tau': 0.75}
    assert tuning.chosen_values('ce', read) == {}
    assert read['gml']['trials'] == trials

    # a method the file did not tune is refused, naming the fix
    args = cli.parse_args(['--methods', 'ce', 'gml', 'blv',
                           '--tuned-from', tuning_file])
    with pytest.raises(UserError, match='0 chosen values of '
                       r'model.decode_head.loss_decode.sigma .*--tune-only '
                       '--methods blv'):
        read_tuned(args)
    # and a file that is not a tuning file
    accuracy = json.load(open(tuning_file))
    accuracy['kind'] = 'accuracy'
    with open(str(tmp_path / 'accuracy.json'), 'w') as f:
        json.dump(accuracy, f)
    args = cli.parse_args(['--methods', 'gml', '--tuned-from',
                           str(tmp_path / 'accuracy.json')])
    with pytest.raises(UserError, match="'accuracy' file: give the "
                       '-tuning.json'):
        read_tuned(args)
    with pytest.raises(SystemExit):
        cli.parse_args(['--methods', 'gml', '--tune', '--tuned-from',
                        tuning_file])

    # values tuned on other data are refused, naming both datasets
    args = cli.parse_args(['--methods', 'gml', '--tuned-from', tuning_file,
                           '--data-config', 'configs/other_data.py'])
    with pytest.raises(UserError, match='tuned on .CamVid at 240x180.*this '
                       "run trains on 'configs/other_data.py': give the "
                       '--data-config'):
        read_tuned(args)
    # as is a row whose settings do not end in key=number
    tuning_data = json.load(open(tuning_file))
    row = next(r for r in tuning_data['rows']
               if r['config'] == report.method_config(args, 'gml'))
    row['settings'] = 'tau is 0.5'
    with open(str(tmp_path / 'bad-tuning.json'), 'w') as f:
        json.dump(tuning_data, f)
    args = cli.parse_args(['--methods', 'gml', '--tuned-from',
                           str(tmp_path / 'bad-tuning.json')])
    with pytest.raises(UserError, match=re.escape(
            f"row {row['label']!r} has settings 'tau is 0.5'") +
            '.*not key=number'):
        read_tuned(args)


def run_cli(argv, capsys):
    """``cli(argv)`` in this process: (exit status, stderr lines)."""
    with pytest.raises(SystemExit) as ended:
        cli.cli(argv)
    return ended.value.code, capsys.readouterr().err.strip().splitlines()


def test_bad_input_ends_in_one_error_line_before_training(tmp_path, capsys):
    work_dir = tmp_path / 'work'
    no_prior = tmp_path / 'no_prior.py'
    no_prior.write_text('train_dataloader = dict(dataset=dict())\n'
                        'val_dataloader = dict(dataset=dict())\n'
                        'val_evaluator = dict(type="LongTailIoUMetric")\n')
    code, err = run_cli(['--methods', 'ce', '--data-config', str(no_prior),
                         '--work-dir', str(work_dir)], capsys)
    assert code == 2 and len(err) == 1
    assert err[0].startswith(f'error: --data-config {no_prior} lacks prior')
    assert "prior = dict(type='ClassPrior', file=" in err[0]

    code, err = run_cli(['--segmentor', 'upernet', '--methods', 'ce',
                         'gml-2stage', '--work-dir', str(work_dir)], capsys)
    assert code == 2 and len(err) == 1
    assert err[0].startswith("error: no config for method 'ce' of "
                             '--segmentor upernet')
    assert 'drop it from --methods' in err[0]

    old = tmp_path / 'old-tuning.json'
    old.write_text(json.dumps(dict(schema=0, title='old', rows=[])))
    code, err = run_cli(['--methods', 'ce', 'gml', '--tuned-from',
                         str(old), '--work-dir', str(work_dir)], capsys)
    assert code == 2 and len(err) == 1
    assert err[0].startswith(f'error: --tuned-from {old}: schema: expected '
                             '1 or 2, got 0')
    assert 'rerun the benchmark that wrote it' in err[0]
    assert not work_dir.exists()  # nothing prepared, nothing trained


def test_a_prior_that_names_its_file_only_gets_its_class_count(tmp_path):
    from mil_seg.gml import ClassPrior
    path = str(tmp_path / 'prior.json')
    ClassPrior.write_file(path, [50, 30, 15, 5])
    data = Config(dict(prior=dict(type='ClassPrior', file=path)))
    assert run_config.data_prior(data) == dict(type='ClassPrior', file=path,
                                               num_classes=4)
    assert run_config.data_prior(Config(dict(prior=path)))[
        'num_classes'] == 4


def test_two_stage_gml_and_post_hoc_prior_strength_are_methods(
        generated_data, tmp_path):
    """Post-hoc prior strength is tuned on GML's chosen held-out trial,
    training nothing; two-stage GML trains a teacher, then a student with
    it, and reports both stages' time."""
    work_dir = tmp_path / 'work'
    common = ['--holdout-fraction', '0.3', '--data-config', generated_data,
              '--work-dir', str(work_dir), '--jobs', '2',
              '--dataset-label', 'generated LT']
    tuned = run_tool(*BENCH, '--methods', 'gml', 'gml-posthoc',
                     '--tune-only', '--tune-iters', '2', '--results-out',
                     str(tmp_path / 'lt.json'), *common, timeout=900)
    assert tuned.returncode == 0, (tuned.stdout + tuned.stderr)[-4000:]
    tuning_file = tmp_path / 'lt-tuning.json'
    tuning = json.loads(tuning_file.read_text())
    assert tuning['title'] == 'Tuning of the long-tail methods, generated ' \
        'LT, fcn'
    rows = tuning['rows']
    # GML's trials train; the post-hoc ones evaluate GML's chosen trial
    assert tuned.stdout.count('] training') == assert_widened_by_the_rule(
        rows, 'gml')
    assert tuned.stdout.count('] evaluating') == assert_widened_by_the_rule(
        rows, 'gml-posthoc')
    assert 'widened past a chosen edge by up to 2' in tuning['rule']
    chosen = {row['settings'] for row in rows if row.get('chosen')}
    assert len(chosen) == 2
    gml_tau = next(s for s in chosen if 'posthoc' not in s)
    posthoc = next(s for s in chosen if 'posthoc' in s)
    assert posthoc.startswith(gml_tau + ', model.decode_head.posthoc_tau=')

    result = run_tool(*BENCH, '--methods', 'gml', 'gml-posthoc',
                      'gml-2stage', '--iters', '2', '--seeds', '0',
                      '--tuned-from', str(tuning_file), '--results-out',
                      str(tmp_path / 'seeds.json'), *common, timeout=900)
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    runs = work_dir / 'gml-2stage' / 'seed0'
    teacher = runs / 'gml-teacher'
    assert (f'Loaded the frozen teacher from {teacher}/iter_2.pth' in
            (runs / 'gml-student' / 'train.out').read_text())
    stages = [json.loads((runs / stage / 'result.json').read_text())
              for stage in ('gml-teacher', 'gml-student')]
    document = json.loads((tmp_path / 'seeds.json').read_text())
    assert document['title'] == 'Long-tail methods, generated LT, fcn, 2 ' \
        'iterations'
    assert document['dataset'] == 'generated LT'
    by_label = {row['label']: row['seeds']['0'] for row in document['rows']}
    two_stage = by_label['GML two stages (student; time of both)']
    assert float(two_stage['step_s']) == pytest.approx(
        sum(s['step_s'] for s in stages), abs=2e-3)
    assert document['rows'][2]['config'].endswith(
        'fcn-gml-student_r18-tiny-d8_1xb8-1k_camvid-240x180.py')
    # post-hoc: GML's checkpoint at another inference strength, GML's cost
    evaluated = Config.fromfile(str(work_dir / 'gml-posthoc' / 'seed0' /
                                    'config.py'))
    value = float(posthoc.rsplit('=', 1)[1])
    assert evaluated.model.decode_head.posthoc_tau == value
    assert f"prior.tau={evaluated.model.decode_head.prior.tau:g}" in gml_tau
    posthoc_row = by_label['GML, post-hoc prior strength']
    assert posthoc_row['peak_mb'] == by_label['GML (per-class T_c)'][
        'peak_mb']
    assert not (work_dir / 'gml-posthoc' / 'seed0' / 'iter_2.pth').exists()
    # its state says it trains nothing (mil_seg-bench status reads it)
    assert json.loads((work_dir / 'gml-posthoc' / 'seed0' / 'state.json')
                      .read_text())['evaluates'] == str(work_dir / 'gml' /
                                                        'seed0')


def test_a_result_file_names_the_data_of_the_configs_it_trained():
    def label(*argv):
        return report.dataset_label(cli.parse_args(['--methods', 'ce',
                                                    *argv]))

    assert label().startswith('CamVid')
    assert label('--config-pattern', 'configs/demo_{method}.py') == (
        'the data of configs/demo_{method}.py')
    assert label('--data-config', 'mine.py') == 'mine.py'
    assert label('--dataset-label', 'CCP at 183x277') == 'CCP at 183x277'


def test_titles_name_the_data_so_two_datasets_tables_differ():
    def name(*argv):
        return report.dataset_name(cli.parse_args(['--methods', 'ce',
                                                   *argv]))

    assert name() == 'CamVid at 240x180'
    assert name('--config-pattern', 'configs/gml_seg/{segmentor}-{method}_'
                'r18-tiny-d8_1xb8-1k_ccp-183x277.py') == 'ccp-183x277'
    assert name('--data-config', 'data/mine.py') == 'mine'
    assert name('--dataset-label', 'CCP') == 'CCP'


def test_a_method_that_fails_lets_the_others_finish(generated_data, tmp_path):
    """CE cannot take focal's gamma: its run fails in training, focal's
    (queued after it, one run at a time) still trains, and the command
    ends naming the failure; the same command again reads focal back."""
    work_dir = tmp_path / 'work'
    argv = ['--methods', 'ce', 'focal', '--iters', '2', '--seeds', '0',
            '--data-config', generated_data, '--work-dir', str(work_dir),
            '--jobs', '1', '--cfg-options',
            'model.decode_head.loss_decode.gamma=2.0']
    result = run_tool(*BENCH, *argv, timeout=900)
    assert result.returncode == 1, (result.stdout + result.stderr)[-3000:]
    assert 'error: [ce seed 0] failed (' in result.stderr
    assert '(1 of 2 runs failed, the others finished' in result.stderr
    assert (work_dir / 'focal' / 'seed0' / 'result.json').is_file()
    assert not (work_dir / 'ce' / 'seed0' / 'result.json').exists()
    again = run_tool(*BENCH, *argv, timeout=900)
    assert again.returncode == 1
    assert '[focal seed 0] read back' in again.stdout
