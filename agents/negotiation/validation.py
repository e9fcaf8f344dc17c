"""Validation unit (papers/003 §III-7): is an extracted bid usable, and if not, why.

Checks, in order, each giving the first reason for rejection:

1. **schema** — a value was extracted (:class:`~agents.negotiation.extraction.Extracted`), it is a
   JSON number (not a string, boolean or null) and there is a non-empty reasoning (the two-part
   message of papers/004 §3.3);
2. **value** — finite (no NaN/Infinity) and within [0, 100] Mbit/s (the SLA range of Eq. 7), and
   within the tenant's regulatory bounds if given;
3. **interval** — under optimizer pressure a bid outside the interval [L, U] must "justify the
   trade-off explicitly" (papers/004 §3.3.1's guard-rail). We accept such a bid only if its
   reasoning names the trade-off or the interval (:data:`JUSTIFICATION_WORDS`, a keyword
   heuristic of ours), and flag it as a warning.

The caller re-prompts once with :func:`reprompt_message` and, if the second reply is rejected too,
uses its deterministic fallback (as :class:`agents.base.LLMAgent` does).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from agents.negotiation.extraction import RESPONSE_TEMPLATE, Extracted

JUSTIFICATION_WORDS = ("trade-off", "tradeoff", "trade off", "justif", "interval")
"""Words that count as the explicit justification of a bid outside the interval."""


@dataclass(frozen=True)
class Validation:
    """Verdict of the validation unit.

    Attributes
    ----------
    ok : bool
        The bid may be used.
    bid_mbps : float or None
        The bid (float) when ``ok``.
    reason : str
        Why it was rejected (``""`` when ok).
    warning : str
        A note on an accepted bid (outside the interval but justified), else ``""``.
    """

    ok: bool
    bid_mbps: float | None
    reason: str = ""
    warning: str = ""


def _reject(reason: str) -> Validation:
    return Validation(False, None, reason)


def _schema_problem(found: Extracted) -> str:
    if not found.found:
        return found.problem
    value = found.value
    if isinstance(value, str):
        return f"throughput is a string ({value[:20]!r}), expected a number in Mbit/s"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return f"throughput is a {type(value).__name__}, expected a number in Mbit/s"
    if not isinstance(found.reasoning, str) or not found.reasoning.strip():
        return "missing reasoning (a bid needs 1-2 sentences of reasoning)"
    return ""


def validate_bid(found: Extracted, interval: tuple[float, float] | None = None,
                 bounds_mbps: tuple[float, float] | None = None) -> Validation:
    """Validate one extracted bid.

    Parameters
    ----------
    found : Extracted
        Output of :func:`agents.negotiation.extraction.extract`.
    interval : (low, high) or None
        The optimizer's interval shown to the tenant, if any.
    bounds_mbps : (min, max) or None
        The tenant's regulatory bounds (:meth:`agents.negotiation.regulatory.Rules.bounds`).

    Returns
    -------
    Validation
    """
    problem = _schema_problem(found)
    if problem:
        return _reject(problem)
    bid = float(found.value)
    if not math.isfinite(bid):
        return _reject(f"throughput={found.value!r} is not a finite number")
    if not 0.0 <= bid <= 100.0:
        return _reject(f"throughput={bid:g} Mbit/s outside the SLA range [0, 100]")
    if bounds_mbps is not None and not bounds_mbps[0] <= bid <= bounds_mbps[1]:
        return _reject(f"throughput={bid:g} Mbit/s outside the regulatory bounds "
                       f"[{bounds_mbps[0]:g}, {bounds_mbps[1]:g}]")
    if interval is None or interval[0] <= bid <= interval[1]:
        return Validation(True, bid)
    where = f"throughput={bid:g} Mbit/s outside the optimizer interval " \
            f"[{interval[0]:.1f}, {interval[1]:.1f}]"
    text = found.reasoning.lower()
    if any(word in text for word in JUSTIFICATION_WORDS):
        return Validation(True, bid, warning=f"{where}, justified")
    return _reject(f"{where} without an explicit trade-off justification")


def reprompt_message(reason: str) -> str:
    """The one re-prompt after a rejected reply: the reason and the template again."""
    return (f"Your last reply was rejected: {reason}. {RESPONSE_TEMPLATE} "
            'Example: {"throughput": 50, "reasoning": "A fair middle ground for all tenants."}')
