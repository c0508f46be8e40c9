"""Tests of mil_seg.benchmark.tuning's order: a combination's trials run at
the value its parent chose."""
from mil_seg.benchmark import tuning
from mil_seg.benchmark.cli import parse_args, settings_of
from mil_seg.benchmark.runs import Executor

TAU = 'model.decode_head.prior.tau'
EXPONENT = 'model.decode_head.loss_gml.class_weight_exponent'


def test_a_combination_is_tuned_after_the_method_it_inherits_from():
    assert tuning.tuning_phases(['lace', 'gml-cw', 'gml', 'gml-posthoc',
                                 'cwce']) == [['lace', 'gml', 'cwce'],
                                              ['gml-cw'], ['gml-posthoc']]
    # without its parent tuned in this run, nothing to wait for
    assert tuning.tuning_phases(['gml-cw', 'lace']) == [['gml-cw', 'lace']]


class RecordingExecutor(Executor):
    """Trains nothing: a run's held-out mIoU is made from its values, so
    GML chooses tau 0.5 and GML + class weights exponent 1."""

    def __init__(self):
        self.values = []

    def execute_ready(self, runs):
        self.values += [(run.method, dict(run.values)) for run in runs]
        return [dict(metrics=dict(mIoU=-abs(run.values[TAU] - 0.5) +
                                  run.values.get(EXPONENT, 0)))
                for run in runs]


def test_combination_trials_train_at_the_parents_chosen_value(
        bench_data_config, tmp_path):
    args = parse_args(['--methods', 'gml', 'gml-cw', '--tune',
                       '--data-config', bench_data_config])
    executor = RecordingExecutor()
    choices = tuning.tune(settings_of(args), executor, args.methods,
                          tuning.TuningPlan(0.3, 2, widen=0), str(tmp_path))
    assert choices['gml']['value'] == 0.5
    assert choices['gml-cw']['value'] == 1.0
    combination = [values for method, values in executor.values
                   if method == 'gml-cw']
    assert [v[EXPONENT] for v in combination] == [0.25, 0.5, 1.0]
    assert all(v[TAU] == 0.5 for v in combination)


def test_settings_text_writes_numbers_short_and_switches_by_name():
    """A design choice that turns a switch off reads False, not 0."""
    assert tuning.settings_text({'a.tau': 0.5, 'a.size': 1024.0,
                                 'a.adjust': False}) == (
        'a.tau=0.5, a.size=1024, a.adjust=False')
    assert tuning.settings_text({}) is None


def test_a_grid_widens_past_its_edge_at_its_own_spacing():
    # inside: nothing to widen
    assert tuning.past_edge([1.0, 2.0, 3.0], 2.0) is None
    # arithmetic grids step by their difference, on either side
    assert tuning.past_edge([1.0, 2.0, 3.0], 3.0) == 4.0
    assert tuning.past_edge([2.0, 4.0, 6.0, 8.0], 8.0) == 10.0
    assert tuning.past_edge([0.5, 0.75, 1.0], 0.5) == 0.25
    # geometric grids of positive values by their ratio
    assert tuning.past_edge([0.25, 0.5, 1.0], 1.0) == 2.0
    assert tuning.past_edge([0.25, 0.5, 1.0], 0.25) == 0.125
    # a step that reaches a bound goes halfway to it, never onto it
    assert tuning.past_edge([0.5, 0.7, 0.9], 0.9, (0.0, 1.0)) == 0.95
    assert tuning.past_edge([0.5, 0.7, 0.9, 0.95], 0.95,
                            (0.0, 1.0)) == 0.975
    assert tuning.past_edge([0.25, 0.5, 0.75, 1.0], 0.25) == 0.125
    # unbounded below: a post-hoc strength goes negative
    assert tuning.past_edge([-0.5, -0.25, 0.0], -0.5,
                            (None, None)) == -0.75
    # nothing left before the bound
    assert tuning.past_edge([0.0, 0.5, 1.0], 0.0) is None


class PeakedExecutor(Executor):
    """Trains nothing: held-out mIoU peaks at focal gamma 4.5 and falls
    with any other knob, so focal widens up, twice, the others down."""

    def __init__(self):
        self.rounds = []

    def execute_ready(self, runs):
        self.rounds.append(sorted((run.method, *run.values.values())
                                  for run in runs))

        def miou(run):
            value, = run.values.values()
            return -abs(value - 4.5) if run.method == 'focal' else -value

        return [dict(metrics=dict(mIoU=miou(run))) for run in runs]


def test_a_choice_at_an_edge_widens_its_grid_every_method_alike(
        bench_data_config, tmp_path):
    args = parse_args(['--methods', 'focal', 'ohem', 'lace', '--tune',
                       '--data-config', bench_data_config])
    executor = PeakedExecutor()
    choices = tuning.tune(settings_of(args), executor, args.methods,
                          tuning.TuningPlan(0.3, 2), str(tmp_path))
    # the grids first, then one value a round for the methods at an edge
    assert len(executor.rounds[0]) == 9
    assert executor.rounds[1:] == [[('focal', 4.0), ('lace', 0.25),
                                    ('ohem', 0.3)],
                                   [('focal', 5.0), ('lace', 0.125),
                                    ('ohem', 0.1)]]
    assert choices['focal']['value'] == 4.0  # ties to the first tried
    assert sorted(choices['focal']['trials']) == [1.0, 2.0, 3.0, 4.0, 5.0]
    # the most values widened: 2, the choice still at the edge
    assert choices['ohem']['value'] == 0.1
    assert choices['lace']['value'] == 0.125  # halfway to its bound, 0
    # --widen 0: the grids only
    only = PeakedExecutor()
    grids = tuning.tune(settings_of(args), only, args.methods,
                        tuning.TuningPlan(0.3, 2, widen=0),
                        str(tmp_path / 'grids'))
    assert len(only.rounds) == 1 and grids['focal']['value'] == 3.0
