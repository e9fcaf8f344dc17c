"""The plant of the Type I loop and how its iterations are counted (papers/004 §3.2, Eq. 1–3).

Shared by the P-controller (:mod:`agents.symbiotic.pcontrol`), the run metrics
(:mod:`agents.symbiotic.metrics`) and the evaluation, so that none of them imports another.
The definitions of the plant gain, the stability bound, enforcements and iterations ι are in
:mod:`agents.symbiotic.pcontrol`'s docstring.

``link`` arguments below are anything with ``n_prb`` and ``rate_per_prb_mbps`` [Mbit/s per PRB,
by CQI]: an agent's :class:`simran.hooks.AgentContext`, or :func:`simran.radio.link.link_table`
of a scenario's network.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


# ------------------------------------------------------------------------------ plant ----------
def rate_per_prb_mbps(link) -> np.ndarray:
    """Rate of one PRB per CQI index [Mbit/s], shape [16] (0 for CQI 0), from the link tables."""
    return np.asarray(link.rate_per_prb_mbps)


def rate_per_pct_mbps(link, cqi) -> np.ndarray:
    """Plant gain c: slice throughput per % of quota at a CQI [Mbit/s per %]: N_PRB/100 · r_PRB."""
    return link.n_prb / 100.0 * rate_per_prb_mbps(link)[np.asarray(cqi)]


def best_case_rate_per_pct_mbps(link) -> float:
    """c_max: the plant gain at the best CQI of the cell's tables [Mbit/s per %]."""
    return float(link.n_prb / 100.0 * rate_per_prb_mbps(link).max())


def kp_stability_bound(link) -> float:
    """Largest gain stable at every CQI: 2 / c_max [% per Mbit/s] (radio-reference A.1)."""
    return 2.0 / best_case_rate_per_pct_mbps(link)


def closed_form_iterations(e0_mbps: float, tol_mbps: float, kp: float, c: float) -> int:
    """Iterations of ``e_{k+1} = (1 − Kp·c)·e_k`` until ``|e| ≤ tol`` (radio-reference A.1).

    ``ceil(ln(tol/|e0|) / ln|1 − Kp·c|)``; 0 if already inside, a huge number if it never gets
    there (``|1 − Kp·c| ≥ 1``), 1 for a deadbeat gain.
    """
    if abs(e0_mbps) <= tol_mbps:
        return 0
    rho = abs(1.0 - kp * c)
    if rho == 0.0:
        return 1
    if rho >= 1.0:
        return 10**9
    return math.ceil(math.log(tol_mbps / abs(e0_mbps)) / math.log(rho) - 1e-12)


# ------------------------------------------------------------------------------ ι ---------------
@dataclass
class Enforcement:
    """One intent enforcement: ticks [k_start, k_end) out of band, ι iterations."""

    k_start: int
    k_end: int
    iterations: int
    converged: bool
    kp: float = math.nan


class EnforcementTracker:
    """Counts iterations ι per intent enforcement (definition in the module docstring).

    Parameters
    ----------
    max_iterations : int or None
        Close an enforcement as unconverged after this many iterations (None: never).
    """

    def __init__(self, max_iterations: int | None = None):
        self.max_iterations = max_iterations
        self.k0: int | None = None            # start of the open enforcement
        self.band: tuple[float, float] | None = None

    def step(self, k: int, y: float, target: float, tol: float, excused: bool = False
             ) -> Enforcement | None:
        """Feed iteration k's measurement; return the enforcement that it completes, if any.

        ``excused``: the band is out of reach at k (the channel cannot carry the intent, or the
        controller is saturated at its quota limit); an open enforcement is closed uncounted and
        none opens until the band is reachable again.
        """
        band = self.band
        if band is None or target != band[0] or tol != band[1]:
            self.band, self.k0 = (target, tol), None   # a new intent: an open one is superseded
        if excused:
            self.k0 = None
            return None
        inside = abs(y - target) <= tol
        done = None
        if self.k0 is not None:
            n = k - self.k0
            if inside:
                done, self.k0 = Enforcement(self.k0, k, n, True), None
            elif self.max_iterations is not None and n >= self.max_iterations:
                done, self.k0 = Enforcement(self.k0, k, n, False), None
        if self.k0 is None and not inside:
            self.k0 = k
        return done

    def restart(self, k: int) -> None:
        """Restart the count of an open enforcement at k (the gain changed)."""
        if self.k0 is not None:
            self.k0 = k
