"""Errors of the negotiation package for bad input (AGENTS.md: file, field and reason).

:class:`NegotiationInputError` is raised for arrays or arguments that cannot be negotiated over
(no tenant, an intent outside [0, 100] Mbit/s, a NaN); :class:`RulesError` for a regulatory rules
file that is malformed or leaves no feasible bid. Both are :class:`simran.errors.SimranError`
subclasses so the CLI reports them like every other bad input.
"""

from __future__ import annotations

from simran.errors import SimranError


class NegotiationInputError(SimranError, ValueError):
    """An argument of a negotiation function is unusable (names the argument and the reason)."""


class RulesError(SimranError):
    """A regulatory rules file is malformed or makes every bid infeasible.

    Parameters
    ----------
    source : str
        The file (or ``"<dict>"``) the rules came from.
    problems : list of (field, reason)
        Every problem found; all are reported at once.
    """

    def __init__(self, source: str, problems: list[tuple[str, str]]):
        self.source = str(source)
        self.problems = list(problems)
        lines = [f"{self.source}: invalid negotiation rules ({len(self.problems)} problem(s))"]
        lines += [f"  - {field or '<root>'}: {reason}" for field, reason in self.problems]
        super().__init__("\n".join(lines))
