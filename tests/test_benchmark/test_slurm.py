"""mil_seg.benchmark on Slurm (``--executor slurm``): the job scripts, and
on a real single-node cluster (the ``slurm_cluster`` fixture) a 2-method x
2-seed benchmark killed (``kill -9``) once its first job is submitted and
started again: no job is submitted twice, and its table equals the local
run's in every metric; bad input is refused before any job is submitted.
"""
import json
import os
import re
import signal
import subprocess
import time

import pytest

from mil_seg.benchmark import cli, slurm
from mil_seg.benchmark.runs import Run

from ..slurm_cluster import PARTITION
from ..tool_runner import ROOT, tool_env
from .reference import benchmark_command, measured


def test_a_job_script_asks_for_what_the_options_say(tmp_path):
    run = Run('lace', 1, 4, {}, False, str(tmp_path / 'lace' / 'seed1'))
    cpu = slurm.SlurmExecutor('cpu', 0, 2, None, threads=2).script(run)
    assert '#SBATCH --partition=cpu\n' in cpu
    assert '#SBATCH --ntasks=1\n#SBATCH --cpus-per-task=2\n' in cpu
    assert '--gres' not in cpu and '--time' not in cpu  # a CPU partition
    assert 'export OMP_NUM_THREADS=2\n' in cpu
    assert f'#SBATCH --output={tmp_path}/lace/seed1/slurm-%j.out' in cpu
    assert cpu.rstrip().endswith(f'-m mil_seg.benchmark.slurm {tmp_path}/'
                                 'lace/seed1 --tasks 1 --threads 2')
    assert re.search(r'--job-name=mil_seg-lace-s1-[0-9a-f]{10}\n', cpu)

    gpus = slurm.SlurmExecutor('gpu', 4, 8, '2:00:00').script(run)
    assert '#SBATCH --ntasks=4\n' in gpus and '--gres=gpu:4\n' in gpus
    assert '#SBATCH --time=2:00:00\n' in gpus and 'MASTER_PORT' in gpus
    assert '--tasks 4' in gpus
    # several GPUs: srun tasks that --launcher slurm maps to ranks; one:
    # the process a local run starts
    command = ['python', '-m', 'mil_seg.tools.train', 'config.py']
    assert slurm.srun_tasks(4)(command) == [
        'srun', '--ntasks=4', '--kill-on-bad-exit=1', *command,
        '--launcher', 'slurm']
    assert slurm.srun_tasks(1)(command) == command


def test_slurm_options_need_the_slurm_executor(capsys):
    with pytest.raises(SystemExit):
        cli.parse_args(['--methods', 'ce', '--partition', 'gpu',
                        '--gpus-per-run', '1'])
    assert ('--partition, --gpus-per-run: only with --executor slurm'
            in capsys.readouterr().err)


def run_cli(argv, capsys):
    """``cli(argv)`` in this process: (exit status, stderr lines)."""
    with pytest.raises(SystemExit) as ended:
        cli.cli(argv)
    return ended.value.code, capsys.readouterr().err.strip().splitlines()


def test_no_sbatch_is_one_error_line_naming_the_fix(tmp_path, monkeypatch,
                                                    capsys):
    monkeypatch.setenv('PATH', str(tmp_path))  # no Slurm command on it
    code, err = run_cli(['--methods', 'ce', '--executor', 'slurm',
                         '--work-dir', str(tmp_path / 'work')], capsys)
    assert code == 2 and len(err) == 1, err
    assert err[0].startswith('error: --executor slurm needs sbatch, squeue, '
                             'sinfo, not found on PATH')
    assert 'apt-get install slurm-client' in err[0]
    assert '--executor local' in err[0]
    assert not (tmp_path / 'work').exists()


def submissions(cluster) -> list:
    """Ids of the batch jobs the cluster's controller accepted so far."""
    with open(os.path.join(cluster.root, 'log', 'slurmctld.log'),
              encoding='utf-8', errors='replace') as f:
        return re.findall(r'_slurm_rpc_submit_batch_job: JobId=(\d+)',
                          f.read())


@pytest.mark.xdist_group('slurm')
def test_an_unknown_partition_is_refused_before_any_job(
        slurm_cluster, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv('SLURM_CONF', slurm_cluster.env['SLURM_CONF'])
    before = submissions(slurm_cluster)
    code, err = run_cli(['--methods', 'ce', '--executor', 'slurm',
                         '--partition', 'gpu', '--work-dir',
                         str(tmp_path / 'work')], capsys)
    assert code == 2 and len(err) == 1, err
    assert err[0] == (
        'error: --partition gpu: the Slurm cluster has no such partition '
        f'(it has: {PARTITION}): give one of them, or leave --partition '
        'out for the default')
    assert submissions(slurm_cluster) == before
    assert not (tmp_path / 'work').exists()


@pytest.mark.xdist_group('slurm')
def test_a_job_submitted_but_not_recorded_is_found_by_its_name(
        slurm_cluster, tmp_path, monkeypatch):
    """The benchmark killed between sbatch and writing the job id: started
    again, it waits for that job (found by the run's job name) instead of
    submitting a second one."""
    monkeypatch.setenv('SLURM_CONF', slurm_cluster.env['SLURM_CONF'])
    run = Run('ce', 0, 2, {}, False, str(tmp_path / 'ce' / 'seed0'))
    os.makedirs(run.directory)
    executor = slurm.SlurmExecutor(PARTITION)
    submitted = subprocess.run(
        ['sbatch', '--parsable', '-p', PARTITION, '-o', os.devnull,
         f'--job-name={slurm.job_name(run)}', '--wrap', 'sleep 120'],
        capture_output=True, text=True, check=True).stdout.strip()
    before = submissions(slurm_cluster)
    try:
        assert executor.submit(run, executor.queued()) == submitted
        assert json.loads((tmp_path / 'ce' / 'seed0' / 'jobs.json')
                          .read_text()) == {'jobs': [submitted]}
        # recorded now: found by its id
        assert executor.submit(run, executor.queued()) == submitted
        assert submissions(slurm_cluster) == before
        assert not (tmp_path / 'ce' / 'seed0' / 'job.sh').exists()
    finally:
        subprocess.run(['scancel', submitted], check=False)


def test_a_job_not_recorded_that_finished_before_the_restart_is_read_back(
        tmp_path, monkeypatch):
    """Killed between sbatch and recording the id, and that job finished
    before the command started again: its result is read back and its id
    (from its log's name) recorded; nothing is submitted again."""
    run = Run('ce', 0, 2, {}, False, str(tmp_path / 'ce' / 'seed0'))
    os.makedirs(run.directory)
    (tmp_path / 'ce' / 'seed0' / 'slurm-3.out').write_text('trained\n')
    (tmp_path / 'ce' / 'seed0' / 'slurm-12.out').write_text('trained\n')
    (tmp_path / 'ce' / 'seed0' / 'result.json').write_text('{}')
    monkeypatch.setattr(slurm, '_slurm', lambda *args: pytest.fail(
        f'called Slurm: {args}'))
    executor = slurm.SlurmExecutor(PARTITION)
    assert executor.submit(run, {}) == '12'
    assert json.loads((tmp_path / 'ce' / 'seed0' / 'jobs.json')
                      .read_text()) == {'jobs': ['12']}
    assert executor.submit(run, {}) == '12'  # recorded now


def wait_for(condition, process, what: str, timeout: float = 600) -> None:
    """Poll ``condition`` until it holds; fail if ``process`` ends first."""
    deadline = time.monotonic() + timeout
    while not condition():
        if process.poll() is not None:
            pytest.fail(f'the benchmark ended ({process.returncode}) before '
                        f'{what}')
        if time.monotonic() > deadline:
            pytest.fail(f'no {what} after {timeout:.0f} s')
        time.sleep(0.05)


def jobs_of(run) -> list:
    """A run's Slurm jobs: those in its ``jobs.json``; for a job submitted
    just before the kill (its id not yet recorded) that finished before
    the second command looked (which then read its result back, asking
    Slurm nothing), the job whose log is there."""
    recorded = run / 'jobs.json'
    if recorded.is_file():
        return json.loads(recorded.read_text())['jobs']
    return [slurm.job_of_log(str(run))]


@pytest.mark.xdist_group('slurm')
def test_a_benchmark_on_slurm_killed_and_started_again(
        slurm_cluster, reference_benchmark, tmp_path):
    """2 methods x 2 seeds as jobs on the 'cpu' partition at the values the
    reference tuned; the benchmark is killed once its first job is
    recorded, and the same command started again collects every job,
    submitting none twice."""
    work_dir = tmp_path / 'work'
    results_out = tmp_path / 'slurm.json'
    command = benchmark_command(
        '--methods', 'ce', 'rfs', '--iters', '4', '--seeds', '0', '1',
        '--tuned-from', reference_benchmark.tuning_out, '--data-config',
        reference_benchmark.data_config, '--work-dir', str(work_dir),
        '--results-out', str(results_out), '--executor', 'slurm',
        '--partition', PARTITION, '--cpus-per-run', '1', '--poll-seconds',
        '1')
    env = tool_env(**slurm_cluster.env)
    before = submissions(slurm_cluster)
    with open(tmp_path / 'first.out', 'w') as log:
        first = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log,
                                 stderr=subprocess.STDOUT)
        wait_for(lambda: any(work_dir.glob('*/seed*/jobs.json')), first,
                 'a recorded job')
        first.send_signal(signal.SIGKILL)
        first.wait()
    started = time.monotonic()
    again = subprocess.run(command, cwd=ROOT, env=env, capture_output=True,
                           text=True, timeout=1200)
    seconds = time.monotonic() - started
    assert again.returncode == 0, ((tmp_path / 'first.out').read_text()
                                   + again.stdout + again.stderr)[-5000:]
    runs = sorted(work_dir.glob('*/seed*'))
    assert [f'{r.parent.name}/{r.name}' for r in runs] == [
        'ce/seed0', 'ce/seed1', 'rfs/seed0', 'rfs/seed1']
    jobs = [jobs_of(run) for run in runs]
    assert all(len(ids) == 1 for ids in jobs), jobs
    accepted = submissions(slurm_cluster)[len(before):]
    assert sorted(accepted) == sorted(ids[0] for ids in jobs)  # once each
    for run, (job, ) in zip(runs, jobs):
        assert (run / f'slurm-{job}.out').is_file()
        assert json.loads((run / 'result.json').read_text())['iters'] == 4
    # the first command's jobs were waited for or read back
    assert again.stdout.count('submitted Slurm job') < 4
    assert ('(submitted before' in again.stdout
            or 'read back' in again.stdout), again.stdout
    print('first command:', *re.findall(r'\[.*Slurm job.*', (
        tmp_path / 'first.out').read_text()), 'killed; second command:',
          *re.findall(r'\[.*(?:Slurm job|read back).*', again.stdout),
          f'({seconds:.0f} s)', sep='\n')
    assert measured(str(results_out)) == measured(
        reference_benchmark.results_out)


@pytest.mark.xdist_group('slurm')
def test_a_failed_job_ends_the_benchmark_with_its_log(
        slurm_cluster, bench_data_config, tmp_path):
    """A run whose training fails in its job: the benchmark says which job,
    and shows the tail of the job's log (the training's own error)."""
    work_dir = tmp_path / 'work'
    result = subprocess.run(
        benchmark_command('--methods', 'ce', '--iters', '2', '--seeds', '0',
                          '--data-config', bench_data_config, '--work-dir',
                          str(work_dir), '--cfg-options',
                          'model.backbone.depth=7', '--executor', 'slurm',
                          '--partition', PARTITION, '--poll-seconds', '1'),
        cwd=ROOT, env=tool_env(**slurm_cluster.env), capture_output=True,
        text=True, timeout=600)
    assert result.returncode == 1, (result.stdout + result.stderr)[-3000:]
    (job, ) = json.loads((work_dir / 'ce' / 'seed0' /
                          'jobs.json').read_text())['jobs']
    log = work_dir / 'ce' / 'seed0' / f'slurm-{job}.out'
    # a fresh process announces its compatibility shims on stderr first
    stderr = ''.join(line for line in result.stderr.splitlines(True)
                     if not line.startswith('mil_seg.compat: '))
    assert stderr.startswith(
        f'error: [ce seed 0] Slurm job {job} ended without a result; its '
        f'log, {log}, ends:\n')
    assert 'error: [ce seed 0] failed (' in result.stderr  # the job's own
    assert 'depth' in result.stderr
    assert 'run the same command again' in result.stderr
