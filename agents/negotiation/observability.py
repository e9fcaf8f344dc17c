"""Observability unit (papers/003 §III-4): keep bids grounded in what the network can carry.

MAESTRO's observability unit supplies real-time resource availability so that negotiations adapt
or halt when the topic is no longer valid (§III-4; the §V demo renegotiates when the achievable
throughput drops from 100 to 30 Mbit/s). This unit is pure: the caller supplies the capacity in
Mbit/s, read from the network's KPIs or link tables (e.g. the peak rate of the slice's PRBs), and
the unit flags bids above it and words the fact for the prompts.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from agents.negotiation.errors import NegotiationInputError


@dataclass(frozen=True)
class CapacityFlag:
    """Whether one bid exceeds the capacity.

    Attributes
    ----------
    over : bool
        The bid is above the capacity.
    excess_mbps : float
        How far above (0 if not).
    text : str
        A note for the decision log and the tenant's next prompt (``""`` if not over).
    """

    over: bool
    excess_mbps: float
    text: str


def _check_capacity(capacity_mbps: float) -> float:
    cap = float(capacity_mbps)
    if not math.isfinite(cap) or cap < 0:
        raise NegotiationInputError(f"capacity_mbps={capacity_mbps!r}: must be finite and >= 0")
    return cap


def capacity_flag(bid_mbps: float, capacity_mbps: float, tenant: str = "") -> CapacityFlag:
    """Flag a bid above the capacity the network can currently deliver.

    Parameters
    ----------
    bid_mbps : float
        A validated bid.
    capacity_mbps : float
        Achievable throughput of the slice now, from the caller's KPIs / link tables.
    tenant : str
        Named in the note.
    """
    cap = _check_capacity(capacity_mbps)
    excess = float(bid_mbps) - cap
    if excess <= 0:
        return CapacityFlag(False, 0.0, "")
    who = f"{tenant}'s " if tenant else ""
    return CapacityFlag(True, excess, f"{who}bid of {bid_mbps:g} Mbit/s exceeds the current "
                                      f"capacity of {cap:g} Mbit/s by {excess:g} Mbit/s")


def over_capacity(bids_mbps, capacity_mbps: float) -> np.ndarray:
    """Boolean mask of bids above the capacity (vectorised :func:`capacity_flag`)."""
    return np.asarray(bids_mbps, dtype=float) > _check_capacity(capacity_mbps)


def capacity_text(capacity_mbps: float) -> str:
    """The network condition for the prompts."""
    cap = _check_capacity(capacity_mbps)
    return (f"Network observation: the slice can currently deliver at most {cap:g} Mbit/s; "
            "bids above it cannot be enforced.")
