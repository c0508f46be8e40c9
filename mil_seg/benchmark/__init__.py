"""Which long-tail method works on a dataset: the benchmark.

``python -m mil_seg.benchmark`` (console script ``mil_seg-bench``) trains
methods x seeds at one budget on the package's configs, optionally on the
user's data (``--data-config``) and after tuning each method's knob on a
held-out split, and writes one table as a result file; ``mil_seg-bench
render`` renders result files into the model-zoo READMEs.

One job per module:

* :mod:`.methods`: the methods, their configs and knobs.
* :mod:`.run_config`: a run's config (the user's data, the budget).
* :mod:`.runs`: runs, their execution (one process runner, one child
  environment, executors), step time and peak memory.
* :mod:`.slurm`: runs as Slurm jobs (``--executor slurm``); also each
  job's entry point (``python -m mil_seg.benchmark.slurm RUN_DIR``), so
  not imported here.
* :mod:`.tuning`: the held-out split and the rule.
* :mod:`.design`: a method's design choices against it as shipped, on the
  held-out split (``mil_seg-bench design``).
* :mod:`.combine`: result files with the same rows side by side
  (``mil_seg-bench combine``).
* :mod:`.status`: where a benchmark stands, from its work dir
  (``mil_seg-bench status``).
* :mod:`.stats`: summaries over seeds.
* :mod:`.bootstrap`: paired bootstrap intervals of mIoU differences.
* :mod:`.results`: result files (schema, atomic read/write, provenance).
* :mod:`.zoo`: the model-zoo tables rendered from result files.
* :mod:`.report`: the benchmark's tables and result files.
* :mod:`.cli`: the command.

Benchmarks of their own, each a module with its ``python -m`` command (the
scripts under ``tools/benchmarks/`` are shells of them):

* :mod:`.cifar10_lt`: GML on CIFAR-10-LT, the classification configs.
* :mod:`.pretrained_checks`: EfficientNetLite0's ImageNet weights against
  the reference model, and a linear probe.
* :mod:`.loss_scaling`: the contrastive terms' time and buffers over
  anchors x queue x dim.
* :mod:`.step_cost`: a training step's time and memory of segmentation
  configs.
"""
from .bootstrap import (Difference, ImageSums, load_sums, paired_bootstrap,
                        paired_bootstraps)
from .methods import METHODS, Knob, Method, config_root
from .results import (ResultFileError, atomic_write, load_result,
                      load_results, provenance, write_result)
from .run_config import Settings, apply_data_config, scale_schedule
from .runs import (Executor, LocalExecutor, Run, child_env, run_all,
                   run_process)
from .design import GML_DESIGN, Choice
from .tuning import TuningPlan, holdout_split

__all__ = [
    'Difference', 'ImageSums', 'load_sums', 'paired_bootstrap',
    'paired_bootstraps',
    'METHODS', 'Knob', 'Method', 'config_root', 'ResultFileError',
    'atomic_write', 'load_result', 'load_results', 'provenance',
    'write_result', 'Settings', 'apply_data_config', 'scale_schedule',
    'Executor', 'LocalExecutor', 'Run', 'child_env', 'run_all',
    'run_process', 'TuningPlan', 'holdout_split', 'GML_DESIGN', 'Choice'
]
