"""``python -m mil_seg.benchmark``: the benchmark command (:mod:`.cli`)."""
from .cli import cli

if __name__ == '__main__':
    cli()
