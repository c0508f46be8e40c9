"""What ``tools/train.py`` and ``tools/test.py`` share.

* :class:`UserError` and its kinds, re-exported from :mod:`mil_seg.errors`
  (their one owner, which the core imports too).
* :mod:`.config`: launcher arguments, loading a config with its overrides,
  and the changes a launcher makes to it (gloo without CUDA, AMP, the
  random-state and unused-parameter hooks).
* :mod:`.slurm`: the ranks of an ``srun`` job as torchrun's environment.
* :mod:`.data`: checking up front that every file a config names exists
  (:func:`check_files`).
* :mod:`.process`: how a launcher's process starts its process group
  (:func:`init_process_group`) and ends (:func:`run_guarded`).

The launchers stay as thin as MMSegmentation's; nothing here knows about a
model. Both segmentation (``default_scope='mmseg'``) and classification
(``default_scope='mmpretrain'``) configs go through the same path. This
package imports mmengine and torch only (never MMSegmentation or
MMPretrain).
"""
from .config import (LAUNCHERS, SUPPORTED_SCOPES, add_common_arguments,
                     add_random_state_hook, add_unused_parameter_hook,
                     enable_amp, load_config, load_evaluation_config)
from .data import (TEST_SECTIONS, TRAIN_SECTIONS, ConfigFile, check_files,
                   config_files, missing_files)
from ..errors import (ConfigFilesMissingError, MissingFileError,
                      SameOnEveryRankError, UserError, WrongModuleError)
from .process import (exit_without_finalization, init_process_group,
                      release_process_group, run_guarded)

__all__ = [
    'LAUNCHERS', 'SUPPORTED_SCOPES', 'UserError', 'MissingFileError',
    'ConfigFilesMissingError', 'WrongModuleError', 'SameOnEveryRankError',
    'add_common_arguments', 'load_config', 'load_evaluation_config',
    'enable_amp', 'add_random_state_hook', 'add_unused_parameter_hook',
    'ConfigFile', 'TRAIN_SECTIONS', 'TEST_SECTIONS', 'config_files',
    'missing_files', 'check_files', 'init_process_group',
    'release_process_group', 'exit_without_finalization', 'run_guarded'
]
