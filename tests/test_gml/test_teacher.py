"""Loading a frozen stage-1 teacher (shared by both adapters): strict on
the teacher's own keys and on the backbone / neck, ``module.`` prefixes
stripped, a missing file deferred to a student checkpoint or refused with
the fix."""
import pytest
import torch
import torch.nn as nn

from mil_seg.gml.teacher import (load_frozen_teacher, load_teacher_or_defer,
                                 require_loaded_teacher,
                                 teacher_file_missing)
from mil_seg.errors import MissingFileError, UserError


class Tiny(nn.Module):

    def __init__(self, width=3):
        super().__init__()
        self.backbone = nn.Linear(2, width)
        self.head = nn.Linear(width, 2)


def saved(tmp_path, model, name='teacher.pth', **extra):
    state = dict(model.state_dict(), **extra)
    path = str(tmp_path / name)
    torch.save(dict(state_dict=state), path)
    return path


def test_loads_exactly_stripping_module_prefixes_and_ignoring_extras(
        tmp_path):
    torch.manual_seed(0)
    stage1 = Tiny()
    state = {f'module.{k}': v for k, v in stage1.state_dict().items()}
    state['queue.features'] = torch.zeros(4, 3)  # a stage-1 queue: ignored
    path = str(tmp_path / 'wrapped.pth')
    torch.save(dict(state_dict=state), path)
    teacher = Tiny()
    load_frozen_teacher(teacher, path)
    for key, value in stage1.state_dict().items():
        assert torch.equal(teacher.state_dict()[key], value), key


def test_mismatches_name_the_config_key(tmp_path):
    path = saved(tmp_path, Tiny(width=3))
    with pytest.raises(UserError, match=r'shape mismatch: backbone.weight.*'
                       r'Make model.teacher the stage-1'):
        load_frozen_teacher(Tiny(width=4), path)
    extra = saved(tmp_path, Tiny(), 'extra.pth',
                  **{'backbone.extra': torch.zeros(1)})
    with pytest.raises(UserError, match='in the checkpoint but not in the '
                       'teacher: backbone.extra'):
        load_frozen_teacher(Tiny(), extra)
    partial = str(tmp_path / 'partial.pth')
    torch.save(dict(state_dict={'backbone.weight': torch.zeros(3, 2)}),
               partial)
    with pytest.raises(UserError, match='missing from the checkpoint: '
                       'backbone.bias'):
        load_frozen_teacher(Tiny(), partial, config_key='teacher_cfg')


def test_missing_file_is_deferred_then_refused(tmp_path):
    absent = str(tmp_path / 'absent.pth')
    assert teacher_file_missing(absent)
    assert not teacher_file_missing('https://example.org/teacher.pth')
    with pytest.raises(MissingFileError, match='train the stage-1'):
        load_frozen_teacher(Tiny(), absent)
    loaded = torch.tensor(False)
    load_teacher_or_defer(Tiny(), absent, loaded)  # a warning only
    assert not bool(loaded)
    with pytest.raises(MissingFileError):
        require_loaded_teacher(loaded, absent)
    load_teacher_or_defer(Tiny(), saved(tmp_path, Tiny()), loaded)
    assert bool(loaded)
    require_loaded_teacher(loaded, absent)  # filled: no error
