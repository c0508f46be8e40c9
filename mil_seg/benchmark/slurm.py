"""Runs as Slurm jobs (``--executor slurm``), submitted with ``sbatch``.

Each run gets a job script in its directory (``job.sh``, readable and
resubmittable by hand: ``sbatch job.sh``) that calls
``python -m mil_seg.benchmark.slurm RUN_DIR``: the job runs
:func:`~.runs.execute`, the very code a local run runs, so it writes the
same ``result.json``. A run of several GPUs trains as ``srun`` tasks, one
per GPU, that ``--launcher slurm`` maps to ranks.

The benchmark records each job id in the run's ``jobs.json`` (atomically,
before it waits), then polls ``squeue`` (no accounting database needed): a
job that left the queue has ended, and its ``result.json`` says whether it
succeeded. A benchmark started again after a crash waits for a recorded job
still in the queue, reads back a finished one, and submits only runs
without a job (a job submitted just before the crash, its id not yet
recorded, is found by its name while queued, and by its log's name once
it has finished).
"""
import getpass
import hashlib
import json
import os
import os.path as osp
import shlex
import shutil
import subprocess
import sys
import time
from dataclasses import asdict
from typing import Any, Callable, Dict, List, Optional, Sequence

from ..errors import UserError
from .results import write_json
from .runs import Executor, Run, RunFailed, child_env, execute

#: The Slurm commands the executor calls.
COMMANDS = ('sbatch', 'squeue', 'sinfo')


def _slurm(args: Sequence[str], env: Optional[Dict[str, str]] = None
           ) -> subprocess.CompletedProcess:
    return subprocess.run(list(args), capture_output=True, text=True,
                          env=env, timeout=120)


def _read(path: str) -> Optional[dict]:
    if not osp.isfile(path):
        return None
    with open(path, encoding='utf-8') as f:
        return json.load(f)


def job_name(run: Run) -> str:
    """The run's job name: readable, and unique to its directory (a job
    submitted but not recorded is found by it)."""
    digest = hashlib.sha256(
        osp.abspath(run.directory).encode()).hexdigest()[:10]
    return f'mil_seg-{run.config_name}-s{run.seed}-{digest}'


def job_of_log(directory: str) -> Optional[str]:
    """The id of the last job that wrote a log (``slurm-<id>.out``) in a
    run's directory; None when none did."""
    ids = [name[len('slurm-'):-len('.out')] for name in os.listdir(directory)
           if name.startswith('slurm-') and name.endswith('.out')]
    ids = [job for job in ids if job.isdigit()]
    return max(ids, key=int) if ids else None


def srun_tasks(tasks: int) -> Callable[[List[str]], List[str]]:
    """The training command as ``tasks`` ``srun`` tasks that
    ``--launcher slurm`` maps to ranks (one task: the command as it is,
    the same process a local run starts)."""

    def wrap(command: List[str]) -> List[str]:
        if tasks <= 1:
            return command
        return ['srun', f'--ntasks={tasks}', '--kill-on-bad-exit=1',
                *command, '--launcher', 'slurm']

    return wrap


class SlurmExecutor(Executor):
    """Runs as Slurm jobs, all ready runs at once; the benchmark waits.

    Args:
        partition (str, optional): The partition (``sbatch -p``). Defaults
            to None (the cluster's default).
        gpus_per_run (int): GPUs of a run; more than one trains as that
            many ``srun`` tasks. Defaults to 0 (a CPU run, no ``--gres``).
        cpus_per_run (int): CPUs of each task. Defaults to 1.
        time_limit (str, optional): ``sbatch --time`` (e.g. ``4:00:00``).
            Defaults to None (the partition's).
        threads (int): ``OMP_NUM_THREADS`` of the job's processes.
            Defaults to 1.
        poll_seconds (float): Seconds between two ``squeue`` calls.
            Defaults to 10.
    """

    def __init__(self, partition: Optional[str] = None, gpus_per_run: int = 0,
                 cpus_per_run: int = 1, time_limit: Optional[str] = None,
                 threads: int = 1, poll_seconds: float = 10.0) -> None:
        self.partition = partition
        self.gpus = max(0, gpus_per_run)
        self.tasks = max(1, self.gpus)
        self.cpus = max(1, cpus_per_run)
        self.time_limit = time_limit
        self.threads = threads
        self.poll_seconds = poll_seconds

    # ----------------------------------------------------------- pre-flight
    def check(self) -> None:
        """Refuse, before any job is submitted, a machine without Slurm's
        commands and a partition the cluster does not know.

        Raises:
            UserError: Naming the fix.
        """
        missing = [name for name in COMMANDS if shutil.which(name) is None]
        if missing:
            raise UserError(
                f'--executor slurm needs {", ".join(missing)}, not found on '
                'PATH: run on a machine of the cluster, load its Slurm '
                'module, or install the client (apt-get install '
                'slurm-client); or train here with --executor local')
        listed = _slurm(['sinfo', '-h', '-o', '%P'])
        if listed.returncode != 0:
            reason = (listed.stderr.strip().splitlines() or ['no output'])[-1]
            raise UserError(
                f'--executor slurm: sinfo cannot reach the cluster ({reason}):'
                ' check SLURM_CONF and that slurmctld runs, or train here '
                'with --executor local')
        known = [name.strip().rstrip('*') for name in listed.stdout.split()]
        if self.partition is not None and self.partition not in known:
            raise UserError(
                f'--partition {self.partition}: the Slurm cluster has no such '
                f'partition (it has: {", ".join(known) or "none"}): give one '
                'of them, or leave --partition out for the default')

    # -------------------------------------------------------------- the jobs
    def script(self, run: Run) -> str:
        """The job script of a run (``job.sh``)."""
        directory = osp.abspath(run.directory)
        env = child_env(self.threads)
        lines = ['#!/bin/bash',
                 f'# mil_seg benchmark run {run.name}; resubmit: '
                 f'sbatch {shlex.quote(osp.join(directory, "job.sh"))}',
                 f'#SBATCH --job-name={job_name(run)}']
        if self.partition:
            lines.append(f'#SBATCH --partition={self.partition}')
        lines += ['#SBATCH --nodes=1', f'#SBATCH --ntasks={self.tasks}',
                  f'#SBATCH --cpus-per-task={self.cpus}']
        if self.gpus:
            lines.append(f'#SBATCH --gres=gpu:{self.gpus}')
        if self.time_limit:
            lines.append(f'#SBATCH --time={self.time_limit}')
        lines += [f'#SBATCH --output={directory}/slurm-%j.out',
                  f'#SBATCH --chdir={os.getcwd()}', 'set -e']
        for key in ('OMP_NUM_THREADS', 'MKL_NUM_THREADS'):
            lines.append(f'export {key}={env[key]}')
        lines.append(f'export PYTHONPATH={shlex.quote(env["PYTHONPATH"])}')
        if self.tasks > 1:  # one rendezvous port per job on a shared node
            lines.append(
                'export MASTER_PORT=$((20000 + SLURM_JOB_ID % 20000))')
        command = [sys.executable, '-m', 'mil_seg.benchmark.slurm',
                   directory, '--tasks', str(self.tasks), '--threads',
                   str(self.threads)]
        lines.append('exec ' + ' '.join(shlex.quote(a) for a in command))
        return '\n'.join(lines) + '\n'

    @staticmethod
    def queued() -> Dict[str, str]:
        """This user's jobs in the queue (pending, running, completing):
        state by job id."""
        listed = _slurm(['squeue', '-h', '-u', getpass.getuser(), '-o',
                         '%i %T %j'])
        if listed.returncode != 0:
            raise UserError('squeue failed: ' + listed.stderr.strip() +
                            ' (the jobs keep running: run the same command '
                            'again to wait for them)')
        jobs = {}
        for line in listed.stdout.splitlines():
            parts = line.split()
            if len(parts) >= 3:
                jobs[parts[0]] = f'{parts[1]} {parts[2]}'
        return jobs

    def submit(self, run: Run, queued: Dict[str, str]) -> str:
        """The run's job: its recorded job if still queued, a job of its
        name submitted before the crash, else a new job."""
        jobs_file = osp.join(run.directory, 'jobs.json')
        recorded = (_read(jobs_file) or {}).get('jobs', [])
        if recorded and recorded[-1] in queued:
            print(f'[{run.name}] waiting for Slurm job {recorded[-1]} '
                  '(submitted before)', flush=True)
            return recorded[-1]
        name = job_name(run)
        for job, state in queued.items():
            if state.split()[1] == name and job not in recorded:
                write_json(jobs_file, {'jobs': recorded + [job]})
                print(f'[{run.name}] waiting for Slurm job {job} (submitted '
                      'before, not recorded)', flush=True)
                return job
        if osp.isfile(osp.join(run.directory, 'result.json')):
            # It finished since the run was prepared: its recorded job, or
            # one submitted just before a crash that left the queue before
            # this look at it (its id is in its log's name).
            job = recorded[-1] if recorded else job_of_log(run.directory)
            if job is not None:
                if not recorded:
                    write_json(jobs_file, {'jobs': [job]})
                return job
        write_json(osp.join(run.directory, 'run.json'), asdict(run))
        script = osp.join(run.directory, 'job.sh')
        with open(script, 'w', encoding='utf-8') as f:
            f.write(self.script(run))
        submitted = _slurm(['sbatch', '--parsable', script],
                           child_env(self.threads))
        if submitted.returncode != 0:
            raise UserError(f'[{run.name}] sbatch {script} failed: '
                            + ' '.join(submitted.stderr.split()))
        job = submitted.stdout.strip().split(';')[0]
        write_json(jobs_file, {'jobs': recorded + [job]})
        print(f'[{run.name}] submitted Slurm job {job} ({script})',
              flush=True)
        return job

    def collect(self, run: Run, job: str) -> dict:
        """A run's result once its job left the queue.

        Raises:
            RunFailed: For a job that ended without a result, with its
                log's tail.
        """
        result = _read(osp.join(run.directory, 'result.json'))
        if result is not None:
            print(f'[{run.name}] Slurm job {job} finished', flush=True)
            return result
        log = osp.join(run.directory, f'slurm-{job}.out')
        tail = '(no log)'
        if osp.isfile(log):
            with open(log, encoding='utf-8', errors='replace') as f:
                text = f.read()
            # from the job's own error (a failed training's log tail), if any
            start = text.rfind(f'error: [{run.name}]')
            tail = text[start:] if start >= 0 else text[-3000:]
        raise RunFailed(
            f'error: [{run.name}] Slurm job {job} ended without a result; '
            f'its log, {log}, ends:\n{tail}\n(fix it and run the same '
            'command again: finished runs are read back)')

    def execute_ready(self, runs: List[Run]) -> List[Any]:
        queued = self.queued()
        jobs = [self.submit(run, queued) for run in runs]
        results: Dict[int, Any] = {}
        states: Dict[str, str] = {}
        while True:
            waiting = self.queued()
            for index, (run, job) in enumerate(zip(runs, jobs)):
                if index in results:
                    continue
                if job not in waiting:
                    try:
                        results[index] = self.collect(run, job)
                    except RunFailed as failure:
                        results[index] = failure
                elif states.get(job) != waiting[job].split()[0]:
                    states[job] = waiting[job].split()[0]
                    print(f'[{run.name}] Slurm job {job} {states[job]}',
                          flush=True)
            if len(results) == len(runs):
                return [results[i] for i in range(len(runs))]
            time.sleep(self.poll_seconds)


def main(argv: Optional[Sequence[str]] = None) -> None:
    """A job's work: execute the run its directory's ``run.json`` holds."""
    import argparse
    parser = argparse.ArgumentParser(
        prog='python -m mil_seg.benchmark.slurm',
        description='Execute one benchmark run inside its Slurm job.')
    parser.add_argument('directory')
    parser.add_argument('--tasks', type=int, default=1)
    parser.add_argument('--threads', type=int, default=1)
    args = parser.parse_args(argv)
    run = Run(**_read(osp.join(args.directory, 'run.json')))
    execute(run, args.threads, srun_tasks(args.tasks))


if __name__ == '__main__':
    main()
