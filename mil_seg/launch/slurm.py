"""``--launcher slurm``: the ranks of a job started by ``srun``, read from
the environment Slurm sets, as torchrun's environment.

mmengine's own Slurm start-up asks ``scontrol`` for the first host of
``SLURM_NODELIST`` and pins each process to a GPU; the launchers instead
map Slurm's variables to the ones ``torch.distributed`` reads (``RANK``,
``WORLD_SIZE``, ``LOCAL_RANK``, ``MASTER_ADDR``, ``MASTER_PORT``) and
start the process group as torchrun's processes do, so a Slurm job needs
no ``scontrol`` in the job's environment and runs on CPU nodes too.
"""
import os
import re
from typing import Dict, Mapping

from ..errors import UserError

#: The variables ``srun`` sets that the mapping needs.
REQUIRED = ('SLURM_PROCID', 'SLURM_NTASKS', 'SLURM_NODELIST')
#: torch.distributed's default port, mmengine's default for Slurm as well.
DEFAULT_PORT = '29500'


def first_host(nodelist: str) -> str:
    """The first host of a Slurm host list.

    Args:
        nodelist (str): A ``SLURM_NODELIST``/``SLURM_JOB_NODELIST`` value,
            e.g. ``'gpu[01-04,07],cpu3'`` or ``'rack[1-2]-node[08-09]'``.

    Returns:
        str: Its first host name (``'gpu01'``, ``'rack1-node08'``), with
        the zero padding of the range.

    Raises:
        UserError: If the list is empty or a bracket is not closed.
    """
    depth, end = 0, len(nodelist)
    for index, char in enumerate(nodelist):
        depth += {'[': 1, ']': -1}.get(char, 0)
        if char == ',' and depth == 0:
            end = index
            break
    host = nodelist[:end].strip()
    # each bracket group of the first entry: its first value
    host = re.sub(r'\[([^\]]*)\]',
                  lambda match: re.split(r'[,-]', match.group(1))[0], host)
    if not host or '[' in host or ']' in host:
        raise UserError(
            f'SLURM_NODELIST={nodelist!r} is not a Slurm host list; start '
            'the job with srun (tools/slurm_train.sh) or set MASTER_ADDR')
    return host


def slurm_environment(environ: Mapping[str, str]) -> Dict[str, str]:
    """torch.distributed's variables for this process of a Slurm job.

    Args:
        environ (Mapping[str, str]): The process's environment.

    Returns:
        dict: ``RANK`` (``SLURM_PROCID``), ``WORLD_SIZE``
        (``SLURM_NTASKS``), ``LOCAL_RANK`` (``SLURM_LOCALID``, else the
        rank modulo ``SLURM_NTASKS_PER_NODE``), ``MASTER_ADDR`` (kept if
        set, else the first host of ``SLURM_NODELIST``) and
        ``MASTER_PORT`` (kept if set, else 29500).

    Raises:
        UserError: If a variable ``srun`` sets is missing or not a number.
    """
    missing = [name for name in REQUIRED if not environ.get(name)]
    if missing:
        raise UserError(
            f'--launcher slurm needs the environment srun sets, and '
            f'{", ".join(missing)} is not set: start tools/train.py with '
            'srun (tools/slurm_train.sh), or use --launcher pytorch with '
            'torchrun (tools/dist_train.sh)')
    try:
        rank = int(environ['SLURM_PROCID'])
        world_size = int(environ['SLURM_NTASKS'])
        if environ.get('SLURM_LOCALID'):
            local_rank = int(environ['SLURM_LOCALID'])
        else:
            # e.g. SLURM_NTASKS_PER_NODE=4 or 4(x2)
            per_node = re.match(r'\d+',
                                environ.get('SLURM_NTASKS_PER_NODE', ''))
            local_rank = rank % int(per_node.group()) if per_node else 0
    except ValueError as error:
        raise UserError(
            f'the Slurm environment of this process is not valid ({error}); '
            'start tools/train.py with srun (tools/slurm_train.sh)'
        ) from error
    if not 0 <= rank < world_size:
        raise UserError(
            f'SLURM_PROCID={rank} is outside the {world_size} tasks of '
            'SLURM_NTASKS; start tools/train.py with srun')
    return dict(
        RANK=str(rank),
        WORLD_SIZE=str(world_size),
        LOCAL_RANK=str(local_rank),
        MASTER_ADDR=environ.get('MASTER_ADDR') or first_host(
            environ['SLURM_NODELIST']),
        MASTER_PORT=environ.get('MASTER_PORT') or DEFAULT_PORT)


def use_slurm_environment(cfg) -> None:
    """Start the config's process group from the Slurm environment.

    Sets the variables of :func:`slurm_environment` in ``os.environ`` and
    switches ``cfg.launcher`` to ``'pytorch'`` (``env://`` start-up). A
    ``port`` in ``env_cfg.dist_cfg`` (mmengine's Slurm option) becomes
    ``MASTER_PORT``.

    Args:
        cfg (mmengine.Config): The config, changed in place.

    Raises:
        UserError: See :func:`slurm_environment`.
    """
    env_cfg = cfg.get('env_cfg') or {}
    dist_cfg = dict(env_cfg.get('dist_cfg') or {})
    port = dist_cfg.pop('port', None)
    environ = dict(os.environ)
    if port is not None:
        environ['MASTER_PORT'] = str(port)
    os.environ.update(slurm_environment(environ))
    if env_cfg:
        env_cfg['dist_cfg'] = dist_cfg
        cfg.env_cfg = env_cfg
    cfg.launcher = 'pytorch'
