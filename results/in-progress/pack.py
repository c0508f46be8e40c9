"""Pack a running benchmark's finished runs so another machine continues it.

    python results/in-progress/pack.py WORK_DIR ARCHIVE.tar.gz

The archive holds every finished run (``result.json``) of WORK_DIR with its
config, state, logs (its output and mmengine's scalars) and per-image sums,
under its absolute path, and no checkpoint, and the work dir's plan (what
``mil_seg-bench status`` counts as left). A finished run whose final
checkpoint a later run still needs (the run a post-hoc evaluation reads, a
first stage the next loads; :data:`mil_seg.benchmark.methods.METHODS` says
which) is left out unless that later run has finished too (for a tuning
trial: until the later method's tuning has ended, since a widened grid adds
trials): it trains again.
Unpack with ``tar -xzf ARCHIVE -C /`` at the same path (every run's config
names its directory), convert the data to the same root, and start the same
benchmark command: it reads the finished runs back and trains the rest.
"""
import glob
import os
import os.path as osp
import sys
import tarfile

from mil_seg.benchmark.methods import METHODS
from mil_seg.benchmark.status import PLAN_FILE

# (later method, the method whose final checkpoint it needs)
NEEDS = tuple((name, m.evaluates) for name, m in METHODS.items()
              if m.evaluates)
# (stage, the stage after it, which loads its checkpoint)
NEXT_STAGE = tuple(pair for m in METHODS.values() if m.stages
                   for pair in zip(m.stages, m.stages[1:]))


def finished(directory: str) -> bool:
    return osp.isfile(osp.join(directory, 'result.json'))


def still_needed(directory: str, work: str) -> bool:
    """Whether a finished run's checkpoint is read by a run not finished."""
    rel = osp.relpath(directory, work).split(os.sep)
    for stage, after in NEXT_STAGE:
        if rel[-1] == stage:
            return not finished(osp.join(osp.dirname(directory), after))
    for later, earlier in NEEDS:
        if earlier not in rel:
            continue
        i = rel.index(earlier)
        if rel[0] == 'tuning':
            # the later method's trials read it, and a choice at its grid's
            # edge adds trials until its tuning ends (it has a seed run)
            trials = glob.glob(osp.join(work, 'tuning', later, '*'))
            return not all(map(finished, trials)) or not glob.glob(
                osp.join(work, later, '*', 'result.json'))
        return not finished(osp.join(work, *rel[:i], later, *rel[i + 1:]))
    return False


def keep(path: str) -> bool:
    """Whether a file of a run (its path in the run's directory) is packed:
    the run's own files but checkpoints, and of mmengine's log folders
    only the scalars (the rest repeats the config and ``train.out``)."""
    parts = path.split(os.sep)
    if len(parts) == 1:
        return not path.endswith('.pth') and path != 'last_checkpoint'
    return parts[-2:] == ['vis_data', 'scalars.json']


def main() -> None:
    work, archive = osp.realpath(sys.argv[1]), sys.argv[2]
    runs = sorted(osp.dirname(p) for p in glob.glob(
        osp.join(work, '**', 'result.json'), recursive=True))
    kept = [d for d in runs if not still_needed(d, work)]
    with tarfile.open(archive, 'w:gz') as tar:
        plan = osp.join(work, PLAN_FILE)  # what status counts as left
        if osp.isfile(plan):
            tar.add(plan, arcname=plan.lstrip('/'))
        for directory in kept:
            for root, _, files in os.walk(directory):
                for name in files:
                    path = osp.join(root, name)
                    if keep(osp.relpath(path, directory)):
                        tar.add(path, arcname=path.lstrip('/'))
    print(f'{archive}: {len(kept)} finished runs of {len(runs)} '
          f'({len(runs) - len(kept)} left out: a later run needs their '
          'checkpoint)')


if __name__ == '__main__':
    main()
