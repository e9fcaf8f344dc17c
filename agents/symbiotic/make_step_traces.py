"""Write ``datasets/type1_step_mcs.h5``: the step channels of papers/004 Fig. 3 and Fig. 4.

    python -m agents.symbiotic.make_step_traces [--out datasets/type1_step_mcs.h5]

The paper switches the vehicle's MCS in steps (Fig. 4: 28 → 24 → 14 → 28; Fig. 3: 28 → 14).
simran drives a trace UE by CQI, mapped to MCS by the scenario's CQI and MCS tables; with CQI
table 1 and MCS table qam64 (TS 38.214 Tables 5.2.2.1-2 and 5.1.3.1-1, the OAI rule of
radio-reference C.3) CQI 15 → MCS 28 and CQI 13 → MCS 24 exactly, but no CQI maps to MCS 14:
CQI 8 → MCS 13 (16QAM, SE 1.9141) and CQI 9 → MCS 15 (SE 2.4063) sit at the same distance from
MCS 14's SE 2.1602 (−11 % / +11 %). We take CQI 8 → MCS 13, the conservative side. Table 2 /
qam256 maps 15/13/8 → 27/23/13 and fits worse; table 3 / qam64LowSE hits 28/24/14 exactly but is
the low-SE (URLLC) table, whose MCS 28 is a different modulation and code rate from the
paper's. The file's traces:

``fig4_mcs28_24_13_28``
    CQI 15, 13, 8, 15 for 5 s each (20 s).
``fig3_mcs28_13``
    CQI 15 for 10 s, then CQI 8 for 10 s (20 s).

Samples are 5 s / 10 s apart with ``sampling_period_s`` set accordingly, so a zero-order-hold
replay steps exactly at the phase boundaries. The output is byte-identical for the same code.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from simran.traces.trace import Trace
from simran.traces.trace_set import write_trace_set

REPO = Path(__file__).resolve().parent.parent.parent
DEFAULT_OUT = REPO / "datasets" / "type1_step_mcs.h5"
STEPS = {
    "fig4_mcs28_24_13_28": (5.0, [15, 13, 8, 15]),
    "fig3_mcs28_13": (10.0, [15, 8]),
}
"""trace id → (phase length [s], CQI per phase)."""


def step_traces() -> list[Trace]:
    """The step traces of :data:`STEPS`."""
    out = []
    for tid, (phase_s, cqis) in STEPS.items():
        mcs = {15: 28, 13: 24, 8: 13}
        out.append(Trace(tid, t_s=np.arange(len(cqis)) * phase_s, cqi=np.array(cqis),
                         attrs={"sampling_period_s": phase_s,
                                "source": "agents/symbiotic/make_step_traces.py",
                                "licence": "MIT", "citation": "papers/004 Fig. 3, Fig. 4",
                                "mcs_table1_qam64": str([mcs[c] for c in cqis])}))
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--out", default=str(DEFAULT_OUT))
    a = ap.parse_args(argv)
    p = write_trace_set(a.out, step_traces(), attrs={
        "name": "type1_step_mcs", "licence": "MIT", "created_by":
        "python -m agents.symbiotic.make_step_traces",
        "description": "Step CQI channels of papers/004 Fig. 3 (MCS 28 -> 14) and Fig. 4 "
                       "(MCS 28 -> 24 -> 14 -> 28), CQI table 1 / qam64: CQI 15/13/8 -> "
                       "MCS 28/24/13 (no CQI maps to MCS 14)",
        "citation": "papers/004 (Chatzistefanidis & Nikaein, Symbiotic Agents), Fig. 3, Fig. 4"})
    print(f"wrote {p}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
