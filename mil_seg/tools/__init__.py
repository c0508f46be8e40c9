"""The launchers, importable from an installed package:
``python -m mil_seg.tools.train CONFIG`` and ``python -m mil_seg.tools.test
CONFIG CHECKPOINT`` (console scripts ``mil_seg-train`` and ``mil_seg-test``)
are what the repository's ``tools/train.py`` and ``tools/test.py`` run."""
