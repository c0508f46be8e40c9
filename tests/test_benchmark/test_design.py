"""Tests of mil_seg.benchmark.design: GML's design study on the held-out
split, each choice against the shipped config."""
import json

import pytest
from mmengine.config import Config

from mil_seg.benchmark import design
from mil_seg.benchmark.cli import settings_of
from mil_seg.errors import UserError

from ..tool_runner import run_tool

BENCH = ('-m', 'mil_seg.benchmark', 'design')
TAU = 'model.decode_head.prior.tau'


def test_choices_always_include_the_reference_in_the_designs_order():
    chosen = design.selected(['temp-0.2', 'tau-0'])
    assert [c.name for c in chosen] == ['shipped', 'tau-0', 'temp-0.2']
    assert len({c.name for c in design.GML_DESIGN}) == len(design.GML_DESIGN)


def test_unknown_choice_is_refused_naming_those_there_are(capsys):
    with pytest.raises(SystemExit):
        design.parse_args(['--choices', 'tau-0', 'bigger-net'])
    error = capsys.readouterr().err
    assert '--choices bigger-net: not a choice' in error
    assert 'tau-0.25' in error


def test_list_prints_every_choice(capsys):
    design.main(['--list'])
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == len(design.GML_DESIGN)
    assert lines[0].split()[0] == 'shipped'


def test_a_choice_without_config_is_left_out_with_a_note(tmp_path):
    """A user's pattern holding only GML's config keeps the choices that
    change its values or evaluate its checkpoints; one without the
    reference's config is an error."""
    settings = settings_of(design.parse_args([]))
    (tmp_path / 'fcn-gml.py').write_text(
        f"_base_ = [{settings.config('gml')!r}]\n")
    args = design.parse_args(['--config-pattern',
                              str(tmp_path / '{segmentor}-{method}.py')])
    kept, notes = design.available(design.selected(None), settings_of(args))
    left_out = {'linear', 'linear-cw', 'cwce', 'two-stage'}
    assert [c.name for c in kept] == [
        c.name for c in design.GML_DESIGN if c.name not in left_out]
    assert len(notes) == 4
    assert 'fcn-cwce.py' in notes[2]
    assert 'two stages' in notes[3] and 'fcn-gml-teacher.py' in notes[3]
    args = design.parse_args(['--segmentor', 'upernet'])
    with pytest.raises(UserError, match='no config for the reference'):
        design.available(design.selected(None), settings_of(args))


def test_linear_classifier_takes_the_references_prior_strength():
    """gml-linear's config keeps LA-CE's tau; the choice changes the
    classifier only."""
    settings = settings_of(design.parse_args([]))
    reference = Config.fromfile(settings.config('gml'))
    linear = next(c for c in design.GML_DESIGN if c.name == 'linear')
    values = design.choice_values(linear, settings)
    assert values == {TAU: reference.model.decode_head.prior.tau}
    assert Config.fromfile(settings.config('gml-linear')).model.decode_head \
        .prior.tau != values[TAU]


def test_design_study_on_generated_data(bench_data_config, tmp_path):
    """Two choices and the reference, trained and evaluated on the
    held-out part of train: each row has its difference to the reference
    with an interval; post-hoc evaluates the reference's checkpoint; a
    second invocation reads every run back."""
    work_dir = tmp_path / 'work'
    out = tmp_path / 'design.json'
    argv = [*BENCH, '--choices', 'tau-0', 'posthoc-neg0.5',
            '--iters', '2', '--seeds', '0', '--holdout-fraction', '0.3',
            '--data-config', bench_data_config, '--work-dir', str(work_dir),
            '--jobs', '2', '--results-out', str(out)]
    result = run_tool(*argv, timeout=900)
    assert result.returncode == 0, (result.stdout + result.stderr)[-4000:]
    assert result.stdout.count('] training') == 2
    assert result.stdout.count('] evaluating') == 1

    document = json.loads(out.read_text())
    assert document['title'] == ('Design study of GML (per-class T_c), '
                                 'my_data, fcn, 2 iterations, held-out split')
    assert document['kind'] == 'accuracy'
    assert document['split'].startswith('held-out 0.3 of train')
    assert document['headers'] == {'time_ratio': 'time vs shipped'}
    rows = {row['label']: row for row in document['rows']}
    reference = 'reference: GML as shipped'
    assert list(rows) == [reference, 'prior strength: tau 0 (no logit '
                          'adjustment)', 'post-hoc prior strength: -0.5']
    assert 'differences' not in rows[reference]
    for label, row in rows.items():
        if label == reference:
            continue
        difference = row['differences'][reference]
        assert difference['seeds'] == [0]
        mIoU = difference['metrics']['mIoU']
        assert float(mIoU['low']) <= float(mIoU['estimate']) <= float(
            mIoU['high'])
        # the estimate is the difference of the rows' own values
        assert float(mIoU['estimate']) == pytest.approx(
            float(row['seeds']['0']['mIoU']) -
            float(rows[reference]['seeds']['0']['mIoU']), abs=0.011)

    # trained on train minus the held-out part, evaluated on that part
    trained = Config.fromfile(str(work_dir / 'tau-0' / 'seed0' / 'config.py'))
    assert trained.model.decode_head.prior.tau == 0
    kept = trained.train_dataloader.dataset['indices']
    held = trained.val_dataloader.dataset['indices']
    assert kept and held and not set(kept) & set(held)
    assert trained.val_dataloader.dataset.data_prefix == \
        trained.train_dataloader.dataset.data_prefix
    posthoc = work_dir / 'posthoc-neg0.5' / 'seed0'
    assert Config.fromfile(str(posthoc / 'config.py')).model.decode_head \
        .posthoc_tau == -0.5
    assert not (posthoc / 'iter_2.pth').exists()
    # the plan status reads: the two trainings, not the evaluation
    plan = json.loads((work_dir / 'plan.json').read_text())
    assert sorted((r['directory'], r['iters']) for r in plan['runs']) == [
        ('shipped/seed0', 2), ('tau-0/seed0', 2)]

    again = run_tool(*argv, timeout=900)
    assert again.returncode == 0, (again.stdout + again.stderr)[-4000:]
    assert again.stdout.count('read back') == 3
    assert again.stdout.count('] training') == 0
    assert json.loads(out.read_text())['rows'] == document['rows']


def test_added_choices_and_another_method(capsys):
    """--add-choice adds a point of the user's; --method studies another
    method with added choices only; malformed ones are refused."""
    args = design.parse_args(['--add-choice', 'queue-8192',
                              'model.decode_head.queue.size=8192'])
    added = args.design[-1]
    assert len(args.design) == len(design.GML_DESIGN) + 1
    assert (added.name, added.method, added.values) == (
        'queue-8192', 'gml', (('model.decode_head.queue.size', 8192.0), ))
    args = design.parse_args(['--method', 'cwce', '--add-choice', 'e0.75',
                              'model.decode_head.loss_decode.exponent=0.75',
                              '--choices', 'e0.75'])
    chosen = design.selected(args.choices, args.design)
    assert [(c.name, c.method) for c in chosen] == [('shipped', 'cwce'),
                                                    ('e0.75', 'cwce')]
    assert chosen[0].label.endswith('as shipped')
    for argv, message in (
            (['--method', 'cwce'], 'no built-in choices'),
            (['--add-choice', 'x', 'queue.size=big'], 'is not KEY=NUMBER'),
            (['--add-choice', 'x'], 'give a name, then one or more'),
            (['--add-choice', 'tau-0', 'a.b=1'], 'a name that another')):
        with pytest.raises(SystemExit):
            design.parse_args(argv)
        assert message in capsys.readouterr().err
