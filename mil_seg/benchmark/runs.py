"""A benchmark run: what it is (a method at a seed and setting, or one
stage of it), its execution (a training process, resumed where it stopped)
and what it measured (metrics, step time, peak memory). Its config is
built by :mod:`.run_config`.

Every run has its own directory holding the exact config it trains
(``config.py``), its state (``state.json``: the config's signature and the
attempts) and, once finished, its result (``result.json``, the one place a
run records what it measured). Both JSON files are written atomically, so a
run killed at any point is resumed or read back, never half-read.

Runs execute through an :class:`Executor`; :class:`LocalExecutor` runs
them as processes on this machine, a few at a time, and
:class:`~.slurm.SlurmExecutor` as Slurm jobs that call :func:`execute`
themselves. A run that fails does not stop the others: every run that can
finishes (a long benchmark loses no night to one bad config), then the
command ends with each failure (:class:`RunFailed`). Every process the
benchmark starts goes through :func:`run_process` with :func:`child_env`,
and dies with the benchmark: a benchmark killed at any point and started
again finds no orphaned training still writing into a run's directory.
"""
import ctypes
import glob
import hashlib
import json
import os
import os.path as osp
import signal
import statistics
import subprocess
import sys
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import (Any, Callable, Dict, List, NamedTuple, Optional,
                    Sequence, Tuple)

from ..errors import MissingFileError, UserError
from .methods import METHODS
from .results import write_json
from .run_config import Settings, Split, build_run_config


@dataclass
class Run:
    """One training (or one evaluation of another run's checkpoint).

    Attributes:
        method (str): The method (:data:`~.methods.METHODS`).
        seed (int): Its seed.
        iters (int): Its budget.
        values (dict): Knob values it trains at, by config key (reported).
        tuning (bool): Trained on train minus the held-out part and
            evaluated on that part.
        directory (str): Its directory.
        config_name (str): The ``{method}`` of its config (a stage's
            name for a stage). Defaults to '' (the method's).
        extra (dict): Settings not reported (a stage's checkpoint).
            Defaults to {}.
        after (str, optional): Directory of the run it needs first (the
            previous stage, or the run whose checkpoint it evaluates).
            Defaults to None.
        evaluate_only (bool): Evaluate ``after``'s final checkpoint at this
            run's config instead of training. Defaults to False.
    """

    method: str
    seed: int
    iters: int
    values: Dict[str, float]
    tuning: bool
    directory: str
    config_name: str = ''
    extra: Dict[str, Any] = field(default_factory=dict)
    after: Optional[str] = None
    evaluate_only: bool = False

    def __post_init__(self):
        self.config_name = self.config_name or self.method

    @property
    def name(self) -> str:
        """How the log lines name it."""
        stage = (f' ({self.config_name})'
                 if self.config_name != self.method else '')
        return (f'{self.method}{stage} seed {self.seed} '
                f'{self.values or ""}').strip()

    @property
    def checkpoint(self) -> str:
        """Its final checkpoint (after training)."""
        return osp.join(self.directory, f'iter_{self.iters}.pth')


def method_runs(name: str, seed: int, iters: int, values: Dict[str, float],
                tuning: bool, directory: str,
                evaluated: Optional[str] = None) -> List[Run]:
    """The runs of one method at one seed and setting, in order.

    Args:
        name (str): The method.
        seed (int): The seed.
        iters (int): The budget.
        values (dict): Its knob values (its own and inherited).
        tuning (bool): A tuning run (see :class:`Run`).
        directory (str): Its directory; the stages of a two-stage method
            get one folder each inside it.
        evaluated (str, optional): For a method that evaluates another's
            checkpoints, the directory of that method's run. Defaults to
            None.

    Returns:
        list[Run]: The runs; the last one gives the method's metrics.
    """
    method = METHODS[name]
    if method.evaluates:
        return [Run(name, seed, iters, values, tuning, directory,
                    config_name=method.evaluates, after=evaluated,
                    evaluate_only=True)]
    if not method.stages:
        return [Run(name, seed, iters, values, tuning, directory)]
    runs: List[Run] = []
    for stage in method.stages:
        previous = runs[-1] if runs else None
        runs.append(Run(
            name, seed, iters, values, tuning, osp.join(directory, stage),
            config_name=stage,
            extra={method.checkpoint_key: previous.checkpoint}
            if previous else {},
            after=previous.directory if previous else None))
    return runs


def method_result(results: List[dict]) -> dict:
    """A method's result from its runs' (:func:`method_runs` order): the
    last run's metrics; the stages' step times summed (each trained the
    whole budget, so one iteration of the method costs one of each), their
    peak memory and training seconds combined."""
    result = dict(results[-1])
    if len(results) > 1:
        steps = [r['step_s'] for r in results]
        result['step_s'] = None if None in steps else sum(steps)
        result['peak_mb'] = max(r['peak_mb'] for r in results)
        result['train_seconds'] = sum(r['train_seconds'] for r in results)
    return result


# --------------------------------------------------------------- processes
class ProcessResult(NamedTuple):
    """How a process ended: exit code, wall seconds, peak RSS (MB) of it
    and its waited-for descendants."""

    code: int
    seconds: float
    peak_rss_mb: float


def child_env(threads: Optional[int] = 1) -> Dict[str, str]:
    """The environment of every process the benchmark starts.

    Its thread count is pinned (runs side by side share the cores), and the
    folder holding the imported ``mil_seg`` comes first on ``PYTHONPATH``,
    so the child imports the same package as this process (a checkout, an
    installed wheel, or a user's ``--target`` folder alike).

    Args:
        threads (int, optional): ``OMP_NUM_THREADS`` and
            ``MKL_NUM_THREADS``; None leaves them as they are (a run alone
            on the machine). Defaults to 1.

    Returns:
        dict: The environment.
    """
    env = dict(os.environ)
    if threads is not None:
        for key in ('OMP_NUM_THREADS', 'MKL_NUM_THREADS'):
            env[key] = str(threads)
    package_parent = osp.dirname(
        osp.dirname(osp.dirname(osp.abspath(__file__))))
    env['PYTHONPATH'] = os.pathsep.join(
        [package_parent, env.get('PYTHONPATH', '')]).rstrip(os.pathsep)
    return env


def _die_with_parent(parent: int) -> Callable[[], None]:
    """A ``preexec_fn`` that has the kernel kill the child when the thread
    that started it ends (Linux's ``PR_SET_PDEATHSIG``), the benchmark
    killed by ``kill -9`` included; elsewhere nothing."""
    if not sys.platform.startswith('linux'):
        return lambda: None
    prctl = ctypes.CDLL(None, use_errno=True).prctl  # resolved before fork

    def preexec() -> None:
        prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
        if os.getppid() != parent:  # the parent died before the prctl
            os._exit(1)

    return preexec


def run_process(command: Sequence[str], log_file: str, threads: int = 1,
                cwd: Optional[str] = None) -> ProcessResult:
    """Run a command into a log (appended), measured; it is killed when the
    benchmark dies (``SIGKILL`` included), so a benchmark started again
    never races a process of the one before.

    Args:
        command (Sequence[str]): The command.
        log_file (str): Where its stdout and stderr go.
        threads (int): Its thread count (:func:`child_env`). Defaults to 1.
        cwd (str, optional): Its working directory. Defaults to None (this
            process's: relative paths of the configs mean the same there).

    Returns:
        ProcessResult: Exit code, seconds and peak RSS; the caller decides
        what a failure means.
    """
    start = time.perf_counter()
    with open(log_file, 'a', encoding='utf-8') as log:
        proc = subprocess.Popen(list(command), cwd=cwd,
                                env=child_env(threads), stdout=log,
                                stderr=subprocess.STDOUT,
                                preexec_fn=_die_with_parent(os.getpid()))
        _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return ProcessResult(proc.returncode, time.perf_counter() - start,
                         usage.ru_maxrss / 1024)


def launcher(name: str) -> List[str]:
    """The command prefix of a launcher of the package (``train`` or
    ``test``): the installed module, so no repository is needed."""
    return [sys.executable, '-m', f'mil_seg.tools.{name}']


def training_logs(directory: str) -> List[str]:
    """mmengine's scalar logs of a run's trainings (one per attempt, in
    order); none for a run that only evaluated."""
    return sorted(glob.glob(osp.join(directory, '*', 'vis_data',
                                     'scalars.json')))


def logged_scalars(directory: str) -> Tuple[Optional[float],
                                            Optional[float]]:
    """Step time (s) and CUDA peak memory (MB) from mmengine's logs.

    The step time is the median of the logged windows (each the mean over
    the logging interval), the first (warm-up) left out: a window in which
    another job shared the machine, or the process was stopped, moves a
    mean by its whole delay, the median hardly.
    """
    times, memory = [], []
    for path in training_logs(directory):
        rows = []
        with open(path, encoding='utf-8') as f:
            for line in f:
                row = json.loads(line)
                if 'time' in row and 'iter' in row:
                    rows.append(row)
        times += [row['time'] for row in rows[1:]]
        memory += [row['memory'] for row in rows if 'memory' in row]
    return (statistics.median(times) if times else None,
            max(memory) if memory else None)


def _relative_to(text: str, root: str) -> str:
    """``text`` with the work dir ``root`` (ending in a separator) written as
    ``{work_dir}``: one spelling of a path under the work dir for the
    signature and for the settings a refusal lists."""
    return text.replace(root, '{work_dir}' + os.sep)


def signature(cfg_text: str, work_dir: Optional[str] = None) -> str:
    """Hash of a run's config text (what makes two runs the same).

    Paths under ``work_dir`` (the run's own, the checkpoint of the run it
    follows) count relative to it, so that a work directory moved whole,
    to another mount or machine, keeps its runs; the data root and every
    other path count as they are.

    Args:
        cfg_text (str): The config as trained.
        work_dir (str, optional): The directory the runs lie under.
            Defaults to None (every path as it is).
    """
    if work_dir:
        cfg_text = _relative_to(cfg_text, osp.abspath(work_dir) + os.sep)
    return hashlib.sha256(cfg_text.encode()).hexdigest()[:16]


def _read_json(path: str) -> Any:
    with open(path, encoding='utf-8') as f:
        return json.load(f)


def prepare(settings: Settings, run: Run,
            split: Optional[Split] = None) -> Optional[dict]:
    """Write a run's config into its directory; its result if it has one.

    Configs are built here, in the main thread (mmengine's config loading
    is not thread-safe); only the processes run in parallel. A directory
    prepared for other settings by a benchmark that stopped before the run
    started (nothing trained, evaluated or submitted there) takes the new
    settings; one where anything ran is refused.

    Raises:
        UserError: For a directory that holds a run of other settings.
    """
    os.makedirs(run.directory, exist_ok=True)
    cfg = build_run_config(settings, run, split)
    text = cfg.pretty_text
    sig = signature(text, settings.work_dir)
    state_file = osp.join(run.directory, 'state.json')
    state = _read_json(state_file) if osp.isfile(state_file) else None
    if state is not None and state['signature'] == signature(text) != sig:
        # signed by a version that read paths as they are, not moved since
        state['signature'] = sig
        write_json(state_file, state)
    if state is not None and state['signature'] != sig:
        if not never_started(run.directory, state):
            raise UserError(
                f'{run.directory} holds a run of other settings: give '
                'another --work-dir, or move that directory away (its run '
                'is kept there) or delete it' +
                changed_settings(run, cfg, settings.work_dir))
        print(f'[{run.name}] {run.directory} was prepared for other '
              'settings and never started: it takes these', flush=True)
        state = None
    if state is None:
        state = {'signature': sig, 'attempts': []}
        if run.evaluate_only:  # for status: this run trains nothing
            state['evaluates'] = run.after
        write_json(state_file, state)
    result_file = osp.join(run.directory, 'result.json')
    if osp.isfile(result_file):
        return _read_back(run, _read_json(result_file))
    with open(osp.join(run.directory, 'config.py'), 'w',
              encoding='utf-8') as f:
        f.write(text)
    return None


def changed_settings(run: Run, cfg, work_dir: Optional[str],
                     most: int = 6) -> str:
    """How the config a run directory holds differs from ``cfg``, for the
    error that refuses it: a block of ``key: trained -> asked`` lines for
    the keys asked now (paths under the work dir, in either, read as
    relative), at most ``most``; '' without a config or a changed key."""
    from mmengine.config import Config
    stored = osp.join(run.directory, 'config.py')
    if not osp.isfile(stored):
        return ''
    try:
        old = Config.fromfile(stored).to_dict()
    except Exception:  # noqa: BLE001 (only an error message is at stake)
        return ''
    new = cfg.to_dict()
    roots = {}
    if work_dir:
        # the work dir each trained in: the one its evaluator's output names
        tail = osp.join(osp.relpath(run.directory, work_dir),
                        'per_class.json')
        for name, config in (('old', old), ('new', new)):
            output = str(config.get('val_evaluator', {}).get('output_file'))
            if output.endswith(os.sep + tail):
                roots[name] = output[:-len(tail)]

    def flat(node: Any, root: Optional[str], prefix: str = '') -> dict:
        if isinstance(node, dict):
            items = node.items()
        elif isinstance(node, (list, tuple)):
            items = enumerate(node)
        else:
            if isinstance(node, str) and root:
                node = _relative_to(node, root)
            return {prefix[:-1]: node}
        return {k: v for key, value in items
                for k, v in flat(value, root, f'{prefix}{key}.').items()}

    before, after = flat(old, roots.get('old')), flat(new, roots.get('new'))
    # keys of the stored config alone are the training's own additions
    # (mmengine's runner writes its hooks, launcher and work_dir back)
    lines = [f'{key}: {before.get(key, "(none)")!r} -> {after[key]!r}'
             for key in sorted(after, key=str)
             if before.get(key, '(none)') != after[key]]
    if not lines:
        return ''
    more = f'\n  ... ({len(lines) - most} more)' if len(lines) > most else ''
    return ('\nwhat differs (as trained -> as asked now):\n  ' +
            '\n  '.join(lines[:most]) + more)


def _read_back(run: Run, result: dict) -> dict:
    """A stored result as this run reports it: its step time read from the
    logs again (those of the run it evaluates, for an evaluation), so that
    every run of a table has the step time of one reading
    (:func:`logged_scalars`), also one stored by an older version; its
    per-image sums where they lie now (the metric writes them beside the
    run's ``per_class.json``), also in a work directory moved since."""
    step_s, _ = logged_scalars(run.after if run.evaluate_only else
                               run.directory)
    if step_s is not None:
        result['step_s'] = step_s
    if result.get('per_image_sums'):
        result['per_image_sums'] = osp.join(
            osp.abspath(run.directory),
            osp.basename(result['per_image_sums']))
    return result


def never_started(directory: str, state: dict) -> bool:
    """Whether a prepared run directory saw nothing run: no attempt, log,
    checkpoint, result or Slurm job."""
    traces = ('train.out', 'test.out', 'result.json', 'last_checkpoint',
              'jobs.json')
    return not state['attempts'] and not any(
        osp.exists(osp.join(directory, name)) for name in traces) and \
        not glob.glob(osp.join(directory, 'iter_*.pth'))


class RunFailed(SystemExit):
    """A run that ended without a result; its message names the run and
    ends with its log's tail. A :class:`SystemExit`, so that alone it ends
    the command with that message; :meth:`Executor.run` collects them so
    that the other runs finish first."""


def _fail(run: Run, code: int, log: str) -> None:
    """Fail the run with the failed process's log tail (kept whole: it is
    what says what went wrong)."""
    with open(log, encoding='utf-8') as f:
        tail = f.read()[-3000:]
    raise RunFailed(f'error: [{run.name}] failed ({code}); its log, {log}, '
                    f'ends:\n{tail}')


def last_checkpoint(directory: str) -> Optional[str]:
    """The checkpoint a run resumes from: the one mmengine's
    ``last_checkpoint`` names, in this directory (the file holds the path
    the run had when it wrote it: a work directory moved since resumes
    too), where it exists (mmengine writes that file after the checkpoint,
    in place: killed in between, it may be empty); else None."""
    pointer = osp.join(directory, 'last_checkpoint')
    if not osp.isfile(pointer):
        return None
    with open(pointer, encoding='utf-8') as f:
        named = f.read().strip()
    if not named:
        return None
    here = osp.join(directory, osp.basename(named))
    return here if osp.isfile(here) else None


def execute(run: Run, threads: int = 1,
            wrap: Optional[Callable[[List[str]], List[str]]] = None) -> dict:
    """Train a prepared run (resuming an interrupted one), or evaluate the
    checkpoint it evaluates; its result, also written to ``result.json``.

    The metric's ``per_class.json`` is trusted only when this call wrote
    it: one left by an interrupted attempt (maybe half-written) is removed
    first, and a training resumed at its last iteration is evaluated again.

    Args:
        run (Run): A run :func:`prepare` wrote.
        threads (int): Threads of its processes. Defaults to 1.
        wrap (callable, optional): Turns the training command into the one
            to run (a Slurm job's ``srun`` tasks, :mod:`.slurm`). Defaults
            to None (as it is).

    Returns:
        dict: ``method``, ``seed``, ``iters``, ``values``, ``tuning``,
        ``metrics``, ``classes``, ``iou`` (per class), ``prior_counts``,
        ``step_s``, ``peak_mb``, ``memory_kind`` ('cuda' or 'rss'),
        ``train_seconds`` and ``per_image_sums`` (the path of the
        evaluation's per-image sums, where the metric wrote them).
    """
    config_file = osp.join(run.directory, 'config.py')
    state_file = osp.join(run.directory, 'state.json')
    per_class_file = osp.join(run.directory, 'per_class.json')
    state = _read_json(state_file)
    if osp.isfile(per_class_file):
        os.remove(per_class_file)
    if run.evaluate_only:
        source = osp.join(run.after, f'iter_{run.iters}.pth')
        print(f'[{run.name}] evaluating {source}', flush=True)
        log = osp.join(run.directory, 'test.out')
        code = run_process(
            launcher('test') + [config_file, source, '--work-dir',
                                osp.join(run.directory, 'test')],
            log, threads).code
        if code != 0 or not osp.isfile(per_class_file):
            _fail(run, code, log)
        trained = _read_json(osp.join(run.after, 'result.json'))
        costs = {k: trained[k] for k in ('step_s', 'peak_mb', 'memory_kind',
                                         'train_seconds')}
    else:
        resume = last_checkpoint(run.directory)
        print(f'[{run.name}] {"resuming" if resume else "training"} '
              f'{run.iters} iterations in {run.directory}', flush=True)
        command = launcher('train') + [config_file, '--work-dir',
                                       run.directory]
        if resume:  # named: mmengine's own search reads the old path
            command += ['--resume', resume]
        log = osp.join(run.directory, 'train.out')
        ended = run_process(wrap(command) if wrap else command, log, threads)
        state['attempts'].append(dict(seconds=ended.seconds,
                                      peak_rss_mb=ended.peak_rss_mb,
                                      exit_code=ended.code))
        write_json(state_file, state)
        code = ended.code
        if code == 0 and not osp.isfile(per_class_file) and osp.isfile(
                run.checkpoint):
            # trained before an interruption, not evaluated: test
            code = run_process(
                launcher('test') + [config_file, run.checkpoint,
                                    '--work-dir',
                                    osp.join(run.directory, 'test')],
                osp.join(run.directory, 'test.out'), threads).code
        if code != 0 or not osp.isfile(per_class_file):
            _fail(run, code, log)
        step_s, cuda_mb = logged_scalars(run.directory)
        costs = dict(
            step_s=step_s,
            peak_mb=cuda_mb if cuda_mb is not None else max(
                a['peak_rss_mb'] for a in state['attempts']),
            memory_kind='cuda' if cuda_mb is not None else 'rss',
            train_seconds=sum(a['seconds'] for a in state['attempts']))
    per_class = _read_json(per_class_file)
    result = dict(
        method=run.method, seed=run.seed, iters=run.iters,
        values=run.values, tuning=run.tuning,
        metrics=per_class['metrics'], classes=per_class['classes'],
        iou=per_class['per_class']['IoU'],
        prior_counts=per_class['prior_counts'], **costs)
    if per_class.get('per_image_sums'):  # the metric wrote them beside it
        result['per_image_sums'] = osp.abspath(osp.join(
            run.directory, per_class['per_image_sums']))
    write_json(osp.join(run.directory, 'result.json'), result)
    return result


# --------------------------------------------------------------- executors
class Executor:
    """Executes prepared runs: where and how many at a time.

    A subclass implements :meth:`execute_ready`; :meth:`run` orders the
    runs so that each starts after the run it needs (``Run.after``).
    """

    def execute_ready(self, runs: List[Run]) -> List[Any]:
        """Execute runs that need nothing unfinished, every one of them
        even where some fail; in order, each one's result, or the
        :class:`RunFailed` it ended with."""
        raise NotImplementedError

    def run(self, runs: List[Run]) -> Dict[str, dict]:
        """Execute runs in dependency order; a failed run stops only the
        runs that need it.

        Args:
            runs (list[Run]): Prepared runs without a result.

        Returns:
            dict: Results by run directory.

        Raises:
            UserError: For a run that needs a run that is neither given
                nor finished.
            RunFailed: Once every run that could has finished, where any
                failed: the first failure's message, then the others'.
        """
        done: Dict[str, dict] = {}
        failed: Dict[str, RunFailed] = {}
        pending = list(runs)
        waiting_on = {run.directory for run in runs}
        while pending:
            blocked = [r for r in pending if r.after in failed]
            while blocked:  # and the runs that need those, in any order
                for run in blocked:
                    failed[run.directory] = RunFailed(
                        f'error: [{run.name}] not run: it needs '
                        f'{run.after}, which failed')
                pending = [r for r in pending if r.directory not in failed]
                blocked = [r for r in pending if r.after in failed]
            if not pending:
                break
            ready = [r for r in pending
                     if r.after is None or r.after not in waiting_on
                     or r.after in done]
            if not ready:
                raise UserError('runs wait on each other: '
                                + ', '.join(r.name for r in pending))
            for run, outcome in zip(ready, self.execute_ready(ready)):
                if isinstance(outcome, RunFailed):
                    failed[run.directory] = outcome
                else:
                    done[run.directory] = outcome
            pending = [r for r in pending
                       if r.directory not in done and r.directory not in
                       failed]
        if failed:
            raise _failures(list(failed.values()), len(runs))
        return done


def _failures(failures: List[RunFailed], count: int) -> RunFailed:
    """One failure, or the first one's message with the others' first
    lines and the count."""
    if len(failures) == 1 and count == 1:
        return failures[0]
    lines = [str(failures[0].code)] + [
        str(f.code).split('\n')[0] for f in failures[1:]]
    lines.append(f'({len(failures)} of {count} runs failed, the others '
                 'finished: fix it and run the same command again, '
                 'finished runs are read back)')
    return RunFailed('\n'.join(lines))


class LocalExecutor(Executor):
    """Runs on this machine, ``jobs`` processes at a time.

    Args:
        jobs (int): Processes at a time. Defaults to 1.
        threads (int): Threads of each. Defaults to 1.
    """

    def __init__(self, jobs: int = 1, threads: int = 1):
        self.jobs = max(1, jobs)
        self.threads = threads

    def execute_ready(self, runs: List[Run]) -> List[Any]:
        with ThreadPoolExecutor(self.jobs) as pool:
            futures = [pool.submit(execute, run, self.threads)
                       for run in runs]
            try:
                return [_outcome(future) for future in futures]
            except BaseException:  # not a run's failure: stop the rest
                for future in futures:
                    future.cancel()
                raise


def _outcome(future: Future) -> Any:
    """A finished future's result, or the :class:`RunFailed` it raised."""
    try:
        return future.result()
    except RunFailed as failure:
        return failure


def run_all(settings: Settings, executor: Executor, runs: List[Run],
            split: Optional[Split] = None) -> List[dict]:
    """Prepare every run, read back the finished ones, execute the others.

    Args:
        settings (Settings): The invocation's settings.
        executor (Executor): Where the runs execute.
        runs (list[Run]): The runs.
        split (tuple, optional): The held-out split of tuning runs.
            Defaults to None.

    Returns:
        list[dict]: Results in the runs' order.

    Raises:
        MissingFileError: For a run that evaluates, or follows, a run that
            is not among them and has no result.
    """
    results: List[Optional[dict]] = [prepare(settings, run, split)
                                     for run in runs]
    for run, result in zip(runs, results):
        if result is not None:
            print(f'[{run.name}] read back from {run.directory}', flush=True)
    todo = [run for run, result in zip(runs, results) if result is None]
    given = {run.directory for run in runs}
    for run in todo:
        if run.after and run.after not in given and not osp.isfile(
                osp.join(run.after, 'result.json')):
            raise MissingFileError(f'[{run.name}] needs the finished run '
                                   f'{run.after}, which has no result')
    done = executor.run(todo)
    return [result if result is not None else done[run.directory]
            for run, result in zip(runs, results)]
