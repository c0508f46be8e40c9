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
                          tuning.TuningPlan(0.3, 2), str(tmp_path))
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
