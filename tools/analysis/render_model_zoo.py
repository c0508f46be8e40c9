"""Render the model-zoo tables of the READMEs from the result files: a thin
shell of ``mil_seg-bench render`` (:mod:`mil_seg.benchmark.zoo`).

    python tools/analysis/render_model_zoo.py          # rewrite the READMEs
    python tools/analysis/render_model_zoo.py --check  # exit 1 when stale
"""
import sys

from mil_seg.benchmark.cli import cli

if __name__ == '__main__':
    cli(['render', *sys.argv[1:]])
