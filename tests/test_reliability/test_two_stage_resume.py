"""Two-stage segmentation through the launchers: a student whose queue is
filled by a frozen teacher resumes exactly, teacher included, even when the
teacher file is gone; without teacher file and checkpoint, the run stops
with one line naming the fix."""
import pytest
import torch

from ..tool_runner import DEMO_GML, run_tool, small_seg_options

pytestmark = pytest.mark.xdist_group('two_stage_runs')

STUDENT = """
_base_ = [{demo!r}]
model = dict(
    type='GMLEncoderDecoder',
    decode_head=dict(key_in_channels=64,
                     loss_gml=dict(kd_weight=1.0, kd_temperature=4.0)),
    teacher=dict(
        type='EncoderDecoder',
        backbone={{{{_base_.model.backbone}}}},
        decode_head=dict(
            type='GMLHead',
            decoder={{{{_base_.fcn_decoder}}}},
            prior=dict(type='ClassPrior', mode='online'),
            loss_gml=dict(con_weight=0.0)),
        checkpoint={teacher!r}))
"""


def train(config, work_dir, data_root, max_iters, resume=None):
    args = ['tools/train.py', str(config), '--work-dir', str(work_dir)]
    if resume is not None:
        args += ['--resume', str(resume)]
    result = run_tool(*args, *small_seg_options(data_root, max_iters))
    assert result.returncode == 0, result.stderr[-4000:]


@pytest.fixture(scope='module')
def runs(synthetic_root, tmp_path_factory):
    root = tmp_path_factory.mktemp('two_stage')
    # Stage 1: the demo's GML head without its contrastive term.
    result = run_tool('tools/train.py', DEMO_GML, '--work-dir',
                      str(root / 'teacher'),
                      *small_seg_options(synthetic_root, 2,
                                         'model.decode_head.loss_gml.'
                                         'con_weight=0.0'))
    assert result.returncode == 0, result.stderr[-4000:]
    teacher = root / 'teacher' / 'iter_2.pth'
    student = root / 'student.py'
    student.write_text(STUDENT.format(demo=DEMO_GML, teacher=str(teacher)))
    train(student, root / 'full', synthetic_root, 4)
    train(student, root / 'resumed', synthetic_root, 2)
    # The student checkpoint holds the teacher: resuming needs no file.
    moved = teacher.rename(root / 'teacher_moved.pth')
    train(student, root / 'resumed', synthetic_root, 4,
          resume=root / 'resumed' / 'iter_2.pth')
    no_teacher = run_tool('tools/train.py', str(student), '--work-dir',
                          str(root / 'no_teacher'),
                          *small_seg_options(synthetic_root, 2))
    moved.rename(teacher)
    loaded = {
        name: torch.load(path, map_location='cpu')
        for name, path in (('teacher', teacher),
                           ('full', root / 'full' / 'iter_4.pth'),
                           ('resumed', root / 'resumed' / 'iter_4.pth'))
    }
    return dict(loaded, no_teacher=no_teacher)


def test_student_resumes_exactly_with_its_frozen_teacher(runs):
    full, resumed = runs['full']['state_dict'], runs['resumed']['state_dict']
    assert full.keys() == resumed.keys()
    for key in full:
        assert torch.equal(full[key], resumed[key]), key
    assert full['decode_head.contrast.queue.num_pushed'].sum() > 0
    # The teacher never moved: its weights and BN statistics are stage 1's.
    stage1 = runs['teacher']['state_dict']
    teacher_keys = [k for k in full if k.startswith('teacher.')]
    assert teacher_keys
    for key in teacher_keys:
        assert torch.equal(full[key], stage1[key[len('teacher.'):]]), key
    # Keys come through the trainable key projector of the teacher's
    # features.
    assert full['decode_head.contrast.key_projector.0.weight'].shape[1] == 64


def test_student_without_teacher_file_or_checkpoint_stops_with_the_fix(runs):
    result = runs['no_teacher']
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert lines[-1].startswith('error: teacher checkpoint ')
    assert 'gml-teacher' in lines[-1] and 'Traceback' not in result.stderr
