"""Errors raised by simran for bad input and for faults of the machine (disk full, read-only).

Every error names *where* the problem is (file, field path, dataset or row) and *why*, so a user
can fix the input without reading a traceback. The CLI prints ``str(error)`` and exits with
status 2 (see ``docs/errors.md`` for the catalogue of cases).

Every class can be rebuilt from its ``args`` (``type(e)(*e.args)``): SimPy re-creates an exception
that escapes a process that way, and the process pools of a sweep pickle it.
"""

from __future__ import annotations

import errno as _errno


class SimranError(Exception):
    """Base class of all user-facing simran errors."""


class ScenarioError(SimranError):
    """A scenario or sweep file is malformed or fails validation.

    Parameters
    ----------
    source : str
        The file (or ``"<dict>"``) the scenario came from.
    problems : list of (field path, reason)
        Every problem found; all are reported at once. A single string is accepted too (the
        message of an already formatted error, e.g. when SimPy re-creates the exception).
    """

    def __init__(self, source: str, problems: list[tuple[str, str]] | str = ()):
        if isinstance(problems, str):
            problems = [("", problems)]
        self.source = source
        self.problems = [tuple(p) for p in problems]
        super().__init__(source, self.problems)

    def __str__(self) -> str:
        if not self.problems:
            return str(self.source)
        lines = [f"{self.source}: invalid scenario ({len(self.problems)} problem(s))"]
        lines += [f"  - {path or '<root>'}: {reason}" for path, reason in self.problems]
        return "\n".join(lines)


class TraceError(SimranError):
    """A trace file or trace selection is malformed (names file, row and reason)."""


class ControlError(SimranError):
    """An action that cannot be interpreted at all (unknown cell, slice or action kind)."""


class SweepError(SimranError):
    """A sweep file or campaign folder is malformed."""


class ResultsError(SimranError):
    """A results file cannot be read (corrupted, truncated, wrong version) or written."""


class AgentError(SimranError):
    """An agent failed inside the running simulation (its message names the agent)."""


class SizeError(SimranError):
    """A scenario or sweep is larger than the pre-flight limit (memory, number of runs)."""


def describe_oserror(exc: OSError, action: str = "write", path=None) -> str:
    """One line for an :class:`OSError` of the machine: the path, what was done and why.

    Parameters
    ----------
    exc : OSError
        The error (``ENOSPC``, ``EROFS``, ``EACCES``, …).
    action : str
        What simran was doing (``"write"``, ``"read"``, ``"create"``).
    path : str or Path, optional
        The path to name when the error carries none (h5py errors often do not).

    Returns
    -------
    str
        e.g. ``"runs/q/results.h5: cannot write: disk full (No space left on device)"``.
    """
    where = path if path is not None else (exc.filename or "<unknown path>")
    code = exc.errno
    if code is None and exc.args and isinstance(exc.args[0], str):  # h5py: errno in the text
        text = exc.args[0]
        for c in (_errno.ENOSPC, _errno.EROFS, _errno.EACCES, _errno.EDQUOT):
            if _errno.errorcode[c] in text or f"errno = {c}," in text:
                code = c
                break
    hint = {_errno.ENOSPC: "disk full", _errno.EDQUOT: "disk quota exceeded",
            _errno.EROFS: "read-only file system", _errno.EACCES: "permission denied",
            _errno.EPERM: "permission denied", _errno.ENOTDIR: "a path component is a file",
            _errno.EISDIR: "is a folder", _errno.EEXIST: "exists",
            _errno.ENOENT: "no such file or folder"}.get(code)
    reason = exc.strerror or (str(exc.args[0]) if exc.args else type(exc).__name__)
    reason = reason.splitlines()[0] if reason else type(exc).__name__
    return f"{where}: cannot {action}: " + (f"{hint} ({reason})" if hint else reason)
