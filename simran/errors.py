"""Errors raised by simran for bad input.

Every error names *where* the problem is (file, field path or row) and *why*, so a user can fix
the input without reading a traceback. The CLI prints ``str(error)`` and exits non-zero.
"""

from __future__ import annotations


class SimranError(Exception):
    """Base class of all user-facing simran errors."""


class ScenarioError(SimranError):
    """A scenario or sweep file is malformed or fails validation.

    Parameters
    ----------
    source : str
        The file (or ``"<dict>"``) the scenario came from.
    problems : list of (field path, reason)
        Every problem found; all are reported at once.
    """

    def __init__(self, source: str, problems: list[tuple[str, str]]):
        self.source = source
        self.problems = list(problems)
        lines = [f"{source}: invalid scenario ({len(self.problems)} problem(s))"]
        lines += [f"  - {path or '<root>'}: {reason}" for path, reason in self.problems]
        super().__init__("\n".join(lines))


class TraceError(SimranError):
    """A trace file or trace selection is malformed (names file, row and reason)."""


class ControlError(SimranError):
    """An action that cannot be interpreted at all (unknown cell, slice or action kind)."""


class SweepError(SimranError):
    """A sweep file or campaign folder is malformed."""
