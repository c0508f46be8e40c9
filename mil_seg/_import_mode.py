"""Whether an import of the package is for its core only, and completing it
later.

Python executes a package's ``__init__.py`` before any of its submodules,
so without this module ``import mil_seg.gml`` would check the OpenMMLab
stack, apply the compatibility layer and import both toolboxes, exactly as
``import mil_seg`` does. The package's ``__init__`` asks
:func:`requested_module` what was asked for; when that is a light
submodule (the core, see ``LIGHT`` in ``mil_seg/__init__.py``) it calls
:func:`defer_completion`, which leaves the package light and completes it
(once) the first time anything else needs the whole package:

* ``import mil_seg``, ``from mil_seg import ...`` or
  ``importlib.import_module('mil_seg')`` (mmengine's ``custom_imports``):
  for a module already in ``sys.modules``, the import system reads
  ``module.__spec__._initializing`` (``import.c``, and from CPython 3.11
  on ``importlib._bootstrap._find_and_load``), which becomes a property
  that completes the package and answers False. CPython 3.9 and 3.10 read
  nothing of the module in ``importlib.import_module``, so there only the
  other triggers complete it. CPython before 3.13 drops an error raised in
  that property by an ``import`` statement: the property warns with it, and
  the next trigger raises it;
* a submodule outside the core (``mil_seg.seg``, ``mil_seg.compat``, ...):
  a finder on ``sys.meta_path`` completes the package before the submodule
  runs;
* an attribute the light package lacks (``mil_seg.STACK``): module
  ``__getattr__``.

Both inspections read the import system's own frames, which CPython keeps
on the Python stack (``sys._getframe``); the fresh-interpreter tests in
``tests/test_init.py`` pin the behaviour. Everything here imports only the
standard library.
"""
import dis
import sys
import warnings
from importlib.machinery import ModuleSpec, PathFinder
from types import FrameType, ModuleType
from typing import Callable, Optional, Sequence

_BOOTSTRAP = 'importlib._bootstrap'


def _within(name: Optional[str], package: str) -> bool:
    return isinstance(name, str) and (name == package
                                      or name.startswith(package + '.'))


def _loading_name(frame: FrameType) -> Optional[str]:
    """The module ``importlib._bootstrap._find_and_load`` is loading in
    ``frame``, or None if the frame is not that function's."""
    if (frame.f_code.co_name == '_find_and_load'
            and frame.f_globals.get('__name__') == _BOOTSTRAP):
        return frame.f_locals.get('name')
    return None


def requested_module(package: str) -> Optional[str]:
    """The module whose import runs ``package``'s ``__init__`` now.

    The outermost module of ``package`` that the import system is loading
    on this thread: ``'mil_seg'`` for ``import mil_seg``,
    ``'mil_seg.gml.loss'`` for ``import mil_seg.gml.loss``.

    Args:
        package (str): The package's name.

    Returns:
        str, optional: The name, or None where the package is executed
        outside the import system (``importlib.reload``, a loader called by
        hand).
    """
    requested = None
    frame = sys._getframe(1)
    while frame is not None:
        name = _loading_name(frame)
        if _within(name, package):
            requested = name
        frame = frame.f_back
    return requested


def within_any(name: Optional[str], modules: Sequence[str]) -> bool:
    """Whether ``name`` is one of ``modules`` or a submodule of one."""
    return any(_within(name, module) for module in modules)


def _importing(frame: FrameType, package: str) -> Optional[str]:
    """What ``frame`` imports while it reads ``package.__spec__``: the name
    its ``_find_and_load`` loads or ``_call_with_frames_removed`` passes to
    ``__import__``, or its ``import`` statement's; for a
    module of the package itself, that module (what it imports, it needs
    anyway); None if unknown (e.g. a call of ``__import__``)."""
    name = _loading_name(frame)
    if name is not None:
        return name
    if (frame.f_code.co_name == '_call_with_frames_removed'
            and frame.f_globals.get('__name__') == _BOOTSTRAP):
        # the import system calling __import__ (a parent, a from-list item)
        args = frame.f_locals.get('args') or (None, )
        return args[0] if isinstance(args[0], str) else None
    importer = frame.f_globals.get('__name__')
    if _within(importer, package):
        return importer
    for instruction in dis.get_instructions(frame.f_code):
        if instruction.offset == frame.f_lasti:
            # outside the package an import of it is absolute
            return (instruction.argval
                    if instruction.opname == 'IMPORT_NAME' else None)
    return None


class _DeferredSpec(ModuleSpec):
    """The light package's spec: reading ``_initializing`` on an import
    outside the core completes the package."""

    _complete: Callable[[], None]
    _is_light: Callable[[Optional[str]], bool]

    @property
    def _initializing(self) -> bool:
        if self.__dict__.get('_initializing', False):
            return True
        frame = sys._getframe(1)
        if not self._is_light(_importing(frame, self.name)):
            try:
                self._complete()
            except BaseException as error:
                # CPython before 3.13 drops an error raised here by an
                # import statement; the import system's Python code
                # (importlib.import_module) raises it.
                if sys.version_info < (3, 13) and _loading_name(frame) is None:
                    warnings.warn(
                        f'import {self.name} stopped at its core: '
                        f'{type(error).__name__}: {error} (the next use '
                        f'of {self.name} outside its core raises it)',
                        RuntimeWarning,
                        stacklevel=2)
                raise
        return False

    @_initializing.setter
    def _initializing(self, value: bool) -> None:
        self.__dict__['_initializing'] = value


class _CompleteFirst:
    """Loader of a submodule outside the core imported while the package is
    light: completes the package, then executes the submodule."""

    def __init__(self, loader, complete: Callable[[], None]) -> None:
        self.loader = loader
        self.complete = complete

    def create_module(self, spec: ModuleSpec) -> Optional[ModuleType]:
        return self.loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        module.__loader__ = module.__spec__.loader = self.loader
        # the submodule is in sys.modules already, so the package's own
        # import of it (if any) finds it and the code below runs it once
        self.complete()
        self.loader.exec_module(module)


class _CompletingFinder:
    """Finds submodules outside the core of a light package (first on
    ``sys.meta_path`` while the package is light)."""

    def __init__(self, package: str, is_light: Callable[[str], bool],
                 complete: Callable[[], None]) -> None:
        self.package = package
        self.is_light = is_light
        self.complete = complete

    def find_spec(self,
                  name: str,
                  path: Optional[Sequence[str]] = None,
                  target: Optional[ModuleType] = None) -> Optional[ModuleSpec]:
        if not name.startswith(self.package + '.') or self.is_light(name):
            return None
        spec = PathFinder.find_spec(name, path, target)
        if spec is not None and spec.loader is not None:
            spec.loader = _CompleteFirst(spec.loader, self.complete)
        return spec


def defer_completion(module: ModuleType, light: Sequence[str],
                     complete: Callable[[], None]) -> None:
    """Leave ``module`` (a package being imported) light; run ``complete``
    once, the first time something outside ``light`` is imported or
    accessed.

    Args:
        module (ModuleType): The package, from its ``__init__``.
        light (Sequence[str]): Modules (with their submodules) that need
            only the light package, e.g. ``('mil_seg.gml', )``.
        complete (Callable[[], None]): Completes the package. If it raises,
            the package stays light and the next trigger tries again.
    """
    package = module.__name__
    spec = module.__spec__
    if type(spec) is not ModuleSpec:
        # an importer's own spec type: nothing to hook safely
        complete()
        return
    state = dict(pending=True)

    def is_light(name: Optional[str]) -> bool:
        return not state['pending'] or within_any(name, light)

    finder = _CompletingFinder(package, is_light, lambda: completion())

    def completion() -> None:
        if not state['pending']:
            return
        state['pending'] = False  # complete() imports: no re-entry
        try:
            complete()
        except BaseException:
            state['pending'] = True
            raise
        spec.__class__ = ModuleSpec
        del spec._complete, spec._is_light
        if finder in sys.meta_path:
            sys.meta_path.remove(finder)
        module.__dict__.pop('__getattr__', None)

    def __getattr__(name: str):
        if name.startswith('__') or not state['pending']:
            raise AttributeError(
                f'module {package!r} has no attribute {name!r}')
        completion()
        return getattr(module, name)

    spec.__class__ = _DeferredSpec
    spec._complete = completion
    spec._is_light = is_light
    sys.meta_path.insert(0, finder)
    module.__getattr__ = __getattr__
