"""Optimizer pressure (papers/003 §III-5, §IV-B; papers/004 §3.3.1): none, soft or hard.

MAESTRO feeds the optimizer's consensus to the mediator's LLM "as a *soft* or *hard* consensus
proposal" and compares three designs (§IV-B, Fig. 3b): standalone LLMs (``none``), *soft* guidance
— in papers/004 §3.3.1 the 95 % interval [L, U] appended to every agent's prompt with a
guard-rail instruction — and *hard* pressure, where the proposal *is* the optimizer's value. Our
reading, made explicit here:

``none``
    no optimizer text in any prompt; the mediator proposes on its own;
``soft``
    the guard-rail text with [L, U] in every prompt (tenants and mediator); the mediator proposes;
``hard``
    as ``soft``, and the mediator's proposal is replaced by the optimizer's consensus.
"""

from __future__ import annotations

import math

from agents.negotiation.errors import NegotiationInputError

PRESSURES = ("none", "soft", "hard")


def check_pressure(pressure: str) -> str:
    """Return ``pressure`` if it is one of :data:`PRESSURES`, else raise."""
    if pressure not in PRESSURES:
        raise NegotiationInputError(f"pressure={pressure!r}: use one of {', '.join(PRESSURES)}")
    return pressure


def format_interval(low_mbps: float, high_mbps: float) -> tuple[int, int]:
    """The interval in whole Mbit/s, rounded outwards (so it still contains [low, high])."""
    return math.floor(low_mbps), math.ceil(high_mbps)


def guardrail_text(low_mbps: float, high_mbps: float) -> str:
    """papers/004 §3.3.1's numerical guard-rail, with the interval rounded outwards."""
    lo, hi = format_interval(low_mbps, high_mbps)
    return (f"Numerical guard-rail: an optimization algorithm calculates that the optimal SLA lies "
            f"within [{lo}, {hi}] Mbit/s. Offer an SLA strictly within [{lo}, {hi}]. If you "
            "propose a value outside this interval, justify the trade-off explicitly.")


def prompt_interval_text(pressure: str, interval: tuple[float, float] | None) -> str:
    """The optimizer text for every prompt: ``""`` for ``none``, the guard-rail otherwise."""
    if check_pressure(pressure) == "none":
        return ""
    if interval is None:
        raise NegotiationInputError(f"pressure={pressure!r} needs the optimizer's interval")
    return guardrail_text(*interval)


def prompt_interval(pressure: str, interval: tuple[float, float] | None):
    """The interval as shown in the prompts (rounded outwards), for validation; ``None`` for none.

    Validation must use the interval the tenants saw, not the unrounded one.
    """
    if check_pressure(pressure) == "none" or interval is None:
        return None
    lo, hi = format_interval(*interval)
    return float(lo), float(hi)


def mediator_proposal(pressure: str, own_proposal_mbps: float | None,
                      optimizer_consensus_mbps: float) -> float | None:
    """The mediator's proposal: the optimizer's consensus under ``hard``, else its own."""
    if check_pressure(pressure) == "hard":
        return float(optimizer_consensus_mbps)
    return own_proposal_mbps
