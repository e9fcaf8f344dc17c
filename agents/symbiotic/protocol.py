"""The intent-episode protocol of papers/004 (Fig. 3, appendix Listing 4) as scenario events:
every episode a new intent and the slice's PRB share restarted at a random value."""

from __future__ import annotations

import math

import numpy as np

EPISODE_TARGETS_MBPS = (10.0, 60.0)
"""Range of the uniformly drawn intent targets of the episode protocol [Mbit/s]."""


def episode_events(duration_s: float, episode_s: float, seed: int, tol_mbps: float = 5.0,
                   slice_name: str = "vehicle") -> list[dict]:
    """Scenario events of the intent-episode protocol (papers/004 Fig. 3, Listing 4).

    Every ``episode_s`` seconds a new intent (target uniform in :data:`EPISODE_TARGETS_MBPS`,
    ± ``tol_mbps``) and the slice's PRB share restarted at a value uniform in [0, 100] % (the
    controller takes an externally set quota over as its PRB_current). Drawn from
    ``numpy.random.default_rng([seed, 20])``: the same episodes for every method on a route.
    """
    rng = np.random.default_rng([seed, 20])
    n = max(1, math.ceil(duration_s / episode_s - 1e-9))
    lo, hi = EPISODE_TARGETS_MBPS
    out = []
    for i in range(n):
        at = round(i * episode_s, 6)
        target, quota = float(rng.uniform(lo, hi)), float(rng.uniform(0.0, 100.0))
        out.append({"at_s": at, "action": "set_intent", "slice": slice_name,
                    "value": round(target, 3), "tolerance": tol_mbps})
        out.append({"at_s": at, "action": "set_slice_quota", "slice": slice_name,
                    "value": round(quota, 3)})
    return out
