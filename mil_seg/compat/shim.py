"""The record that describes one shim of the compatibility layer, and how a
shim replaces a name mmengine's modules share."""
import importlib
import sys
from dataclasses import dataclass
from typing import Any, Callable, Sequence


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


def rebind(attribute: str, replace: Callable[[Any], Any],
           modules: Sequence[str], if_imported: Sequence[str] = ()) -> None:
    """Replace a function in every mmengine module that holds it.

    ``from x import f`` copies ``f`` into the importing module, so a shim
    that replaces a function rebinds it in each module that imported it by
    name. ``modules`` are imported and patched; ``if_imported`` only when
    something imported them already (importing them here would load more
    than the shim needs, and a later import takes the name from an already
    patched module).

    Args:
        attribute (str): The name.
        replace (Callable): The module's current value -> its new value
            (may return the current one, e.g. when already wrapped).
        modules (Sequence[str]): Modules patched, imported if needed.
        if_imported (Sequence[str]): Modules patched only if imported.
            Defaults to ().
    """
    names = list(modules) + [name for name in if_imported
                             if name in sys.modules]
    for name in names:
        module = importlib.import_module(name)
        if hasattr(module, attribute):
            setattr(module, attribute, replace(getattr(module, attribute)))
