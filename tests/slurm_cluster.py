"""A real single-node Slurm cluster on localhost, for the tests of the
Slurm paths (imported by them and by ``tests/conftest.py``; not a test
module).

Debian's ``slurm-wlm`` (``slurmctld``, ``slurmd``, ``munged``, the client
commands) run as root with ``SlurmUser=root``: everything the cluster writes
(configuration, munge key and socket, state, spool, logs) is in one
temporary folder, on free ports, so it touches no system file and no other
cluster. Clients find it through ``SLURM_CONF`` (:attr:`SlurmCluster.env`).
"""
import os
import os.path as osp
import shutil
import signal
import socket
import subprocess
import time
from typing import Dict, List, Optional

#: The programs the cluster needs (Debian: ``apt-get install slurm-wlm``).
PROGRAMS = ('munged', 'slurmctld', 'slurmd', 'srun', 'sbatch', 'squeue',
            'sinfo', 'scancel')
#: The partition the cluster has (its only one, the default).
PARTITION = 'cpu'

SLURM_CONF = """\
ClusterName=milseg-test
SlurmctldHost=localhost
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
AuthInfo=socket={root}/munge/munge.socket
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
StateSaveLocation={root}/state
SlurmdSpoolDir={root}/spool
SlurmctldPidFile={root}/run/slurmctld.pid
SlurmdPidFile={root}/run/slurmd.pid
SlurmctldLogFile={root}/log/slurmctld.log
SlurmdLogFile={root}/log/slurmd.log
SlurmctldPort={ctld_port}
SlurmdPort={slurmd_port}
ReturnToService=2
MpiDefault=none
MinJobAge=600
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
NodeName=localhost NodeHostname={hostname} NodeAddr=127.0.0.1 CPUs={cpus} State=UNKNOWN
PartitionName={partition} Nodes=localhost Default=YES MaxTime=INFINITE State=UP
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def missing_requirements() -> Optional[str]:
    """Why a cluster cannot start here, or None when it can."""
    missing = [name for name in PROGRAMS if shutil.which(name) is None]
    if missing:
        return (f'Slurm is not installed ({", ".join(missing)} not found): '
                'apt-get install slurm-wlm (.ci/run does)')
    if os.geteuid() != 0:
        return 'the test cluster runs its daemons as root (SlurmUser=root)'
    return None


class SlurmCluster:
    """slurmctld, slurmd and munged of one test session.

    Args:
        root (str): An empty folder for everything the cluster writes.
        cpus (int | None): CPUs of the one node. Defaults to the machine's.
    """

    def __init__(self, root: str, cpus: Optional[int] = None) -> None:
        self.root = root
        self.cpus = cpus or os.cpu_count() or 1
        self.conf = osp.join(root, 'slurm.conf')

    @property
    def env(self) -> Dict[str, str]:
        """The variables a Slurm client needs to reach this cluster."""
        return dict(SLURM_CONF=self.conf)

    def _run(self, args: List[str], timeout: float = 30) -> str:
        result = subprocess.run(
            args,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=dict(os.environ, **self.env))
        if result.returncode != 0:
            raise RuntimeError(f'{" ".join(args)} failed: {result.stderr}'
                               f'\n{self.log_tail()}')
        return result.stdout

    def start(self, timeout: float = 60) -> 'SlurmCluster':
        """Start munged, slurmctld and slurmd, and wait until the node is
        idle.

        Raises:
            RuntimeError: If a daemon fails or the node is not up in time,
                with the daemons' log tails.
        """
        for name in ('munge', 'state', 'spool', 'log', 'run'):
            os.makedirs(osp.join(self.root, name), exist_ok=True)
        key = osp.join(self.root, 'munge', 'munge.key')
        with open(key, 'wb') as f:
            f.write(os.urandom(1024))
        os.chmod(key, 0o600)
        with open(self.conf, 'w', encoding='utf-8') as f:
            f.write(
                SLURM_CONF.format(
                    root=self.root,
                    ctld_port=_free_port(),
                    slurmd_port=_free_port(),
                    hostname=socket.gethostname(),
                    cpus=self.cpus,
                    partition=PARTITION))
        munge = osp.join(self.root, 'munge')
        self._run([
            'munged', '--force', f'--key-file={key}',
            f'--socket={munge}/munge.socket',
            f'--pid-file={munge}/munged.pid',
            f'--log-file={munge}/munged.log', f'--seed-file={munge}/seed'
        ])
        self._run(['slurmctld', '-f', self.conf])
        self._run(['slurmd', '-f', self.conf, '-N', 'localhost'])
        deadline = time.monotonic() + timeout
        state = ''
        while time.monotonic() < deadline:
            try:
                state = self._run(['sinfo', '-h', '-N', '-o', '%T']).strip()
            except RuntimeError:
                state = ''
            if state == 'idle':
                return self
            time.sleep(0.5)
        raise RuntimeError(f'the test Slurm node is {state!r}, not idle, '
                           f'after {timeout:.0f} s\n{self.log_tail()}')

    def log_tail(self, lines: int = 20) -> str:
        """The last lines of each daemon's log."""
        parts = []
        for name in ('log/slurmctld.log', 'log/slurmd.log',
                     'munge/munged.log'):
            path = osp.join(self.root, name)
            if osp.exists(path):
                with open(path, encoding='utf-8', errors='replace') as f:
                    tail = f.readlines()[-lines:]
                parts.append(f'--- {name}\n' + ''.join(tail))
        return '\n'.join(parts)

    def stop(self) -> None:
        """Cancel every job and stop the daemons."""
        if osp.exists(self.conf):
            subprocess.run(['scancel', '--full', '-u', 'root'],
                           capture_output=True,
                           env=dict(os.environ, **self.env))
        for pid_file in ('run/slurmd.pid', 'run/slurmctld.pid',
                         'munge/munged.pid'):
            path = osp.join(self.root, pid_file)
            try:
                with open(path, encoding='utf-8') as f:
                    pid = int(f.read().strip())
                os.kill(pid, signal.SIGTERM)
            except (FileNotFoundError, ValueError, ProcessLookupError):
                continue
            for _ in range(50):  # a daemon flushes its state on SIGTERM
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    break
                time.sleep(0.1)
