"""The package's user-error types.

A check of the package that a user can fail (a config value, the data, a
command-line argument) raises :class:`UserError`, or a subclass of it, with
a message that names the fix. The launchers tell such a problem from a bug
by this type alone: :func:`mil_seg.launch.run_guarded` prints a
``UserError`` as one ``error:`` line and exits with status 2; anything else
keeps its traceback.

This module imports nothing, so every part of the package (the core
``mil_seg.gml`` included) can raise these without depending on a toolbox.
"""


class UserError(ValueError):
    """A problem the user fixes in the config, the data or the command line.

    :func:`mil_seg.launch.run_guarded` prints it as one ``error:`` line
    because of its type, wherever it is raised (also when a library re-raises
    it as the same type with a longer message, as mmengine's registry may).
    The message should say what to change. A ``ValueError``, so that callers
    catching ``ValueError`` still catch it.
    """


class MissingFileError(UserError, FileNotFoundError):
    """A file or directory named by the config or the command line is
    missing.

    Also a ``FileNotFoundError``, so that callers catching that still catch
    it.
    """


class WrongModuleError(UserError, TypeError):
    """The config names a module of the wrong kind for its place (e.g. a
    plain decode head where a GML head is needed).

    Also a ``TypeError``, so that callers catching that still catch it.
    """


class SameOnEveryRankError(UserError):
    """A user error that every rank of a distributed run raises, with the
    same message, because the check behind it was made collectively (e.g.
    :class:`~mil_seg.engine.UnusedParameterHook`).

    :func:`mil_seg.launch.run_guarded` prints it on rank 0 only, so a run
    on several processes ends with one ``error:`` line, as one process
    does; every rank still exits with status 2.
    """


class ConfigFilesMissingError(MissingFileError, SameOnEveryRankError):
    """Files named by the config are missing: raised by
    :func:`mil_seg.launch.check_files` before the Runner is built, with
    every missing file in one message. In a distributed run the ranks share
    their findings first, so every rank raises it with the same message and
    it is printed once.
    """
