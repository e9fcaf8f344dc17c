"""Write ``datasets/agi_ran_vehicle.h5``: a vehicle drive with the coverage hole of Fig. 16a.

    python -m agents.agiran.make_trace [--out datasets/agi_ran_vehicle.h5]

papers/004 §6 drives one vehicle through a cell whose MCS "plunges in the middle of the route
(200–400 s) due to low coverage" (Fig. 16a) and recovers after. The paper gives the levels in
words: before the hole the cell carries the 51 Mbit/s consensus with ≈ 40 % of its PRBs (≈ 127
Mbit/s with the whole cell); inside it "only a maximum of 30 Mbit/s is achievable" with 100 % of
the PRBs. With simran's link abstraction (40 MHz / 30 kHz = 106 PRB, CQI table 1, MCS table
qam64, TS 38.214 / 38.306) the whole cell carries ≈ 138 Mbit/s at CQI 12 and ≈ 27 Mbit/s at
CQI 5, so the trace's levels are CQI 12 outside the hole and CQI 5 inside it. These levels are
the *conditions* the paper reports, not a fit of its results.

The trace (id ``fig16_hole``), 1 s samples like the UCC 5G drives, 520 s:

* ``t < 195 s`` and ``t ≥ 405 s``: good coverage, CQI 12 with fast-fading jitter;
* 195–205 s: ramp down (the vehicle drives into the hole); 205–395 s: CQI 5 with jitter;
  395–405 s: ramp up;
* jitter: an AR(1) process of the CQI offset (coefficient 0.7, innovation std 0.7 CQI steps,
  rounded), clipped to ±2 around the level and to 1..15 — a vehicle's CQI moves by about one
  step from second to second (the UCC drives: median |ΔCQI| = 1).

The jitter comes from ``numpy.random.default_rng(SEED)``; the output is byte-identical for the
same code. The trace is 520 s long so that the 500 s scenario never reaches its end.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from simran.traces.trace import Trace
from simran.traces.trace_set import write_trace_set

REPO = Path(__file__).resolve().parent.parent.parent
DEFAULT_OUT = REPO / "datasets" / "agi_ran_vehicle.h5"
TRACE_ID = "fig16_hole"
SEED = 16
DURATION_S = 520
GOOD_CQI, HOLE_CQI = 12, 5
HOLE_S = (195.0, 205.0, 395.0, 405.0)
"""Ramp down from/to, ramp up from/to [s] (the hole is 200–400 s at mid-ramp, Fig. 16a)."""
AR_COEF, AR_STD, JITTER_MAX = 0.7, 0.7, 2


def level(t_s: np.ndarray) -> np.ndarray:
    """Mean CQI at ``t_s`` [s]: good, ramp down, hole, ramp up, good (piecewise linear)."""
    a, b, c, d = HOLE_S
    return np.interp(t_s, [0.0, a, b, c, d, 1e9],
                     [GOOD_CQI, GOOD_CQI, HOLE_CQI, HOLE_CQI, GOOD_CQI, GOOD_CQI])


def jitter(n: int, rng: np.random.Generator) -> np.ndarray:
    """AR(1) CQI offsets (see the module docstring), rounded and clipped to ±JITTER_MAX."""
    e = rng.normal(0.0, AR_STD, n)
    x = np.zeros(n)
    for i in range(1, n):
        x[i] = AR_COEF * x[i - 1] + e[i]
    return np.clip(np.rint(x), -JITTER_MAX, JITTER_MAX)


def vehicle_trace() -> Trace:
    """The ``fig16_hole`` trace."""
    t = np.arange(DURATION_S + 1, dtype=float)
    cqi = np.clip(np.rint(level(t)) + jitter(t.size, np.random.default_rng(SEED)), 1, 15)
    return Trace(TRACE_ID, t_s=t, cqi=cqi.astype(np.int64),
                 attrs={"sampling_period_s": 1.0, "source": "agents/agiran/make_trace.py",
                        "licence": "MIT", "citation": "papers/004 §6, Fig. 16a (hole placement)",
                        "levels": f"CQI {GOOD_CQI} outside, {HOLE_CQI} inside; hole "
                                  f"{HOLE_S[1]:g}-{HOLE_S[2]:g} s, ramps {HOLE_S[0]:g}-"
                                  f"{HOLE_S[1]:g} and {HOLE_S[2]:g}-{HOLE_S[3]:g} s"})


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=str(DEFAULT_OUT))
    a = ap.parse_args(argv)
    p = write_trace_set(a.out, [vehicle_trace()], attrs={
        "name": "agi_ran_vehicle", "licence": "MIT",
        "created_by": "python -m agents.agiran.make_trace",
        "description": "One synthetic vehicle drive, 520 s at 1 s, with the coverage hole of "
                       "papers/004 Fig. 16a (CQI 12 -> 5 from 200 to 400 s, AR(1) jitter)",
        "citation": "papers/004 (Chatzistefanidis & Nikaein, Symbiotic Agents), §6, Fig. 16a"})
    print(f"wrote {p}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
