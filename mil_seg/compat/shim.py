"""The record that describes one shim of the compatibility layer."""
from dataclasses import dataclass
from typing import Callable


@dataclass(frozen=True)
class Shim:
    """One shim: its name, what it changes, when and how it is applied.

    Each shim module of :mod:`mil_seg.compat` defines one ``SHIM``, so the
    description stays next to the code it describes.

    Attributes:
        name (str): Short name, as listed by
            :func:`mil_seg.compat.active_shims`.
        description (str): What the shim changes; announced once, as
            ``mil_seg.compat: <description>``, when it is applied.
        needed (Callable[[], bool]): Whether this environment needs it.
        install (Callable[[], None]): Applies it; called at most once per
            process.
    """

    name: str
    description: str
    needed: Callable[[], bool]
    install: Callable[[], None]
