"""A custom scheduler policy: "weighted round robin by slice tier", registered by name.

Run it::

    python examples/custom_policy.py [--duration 2]

What it shows

* :func:`simran.mac.policies.register_policy` and a :class:`~simran.mac.policies.WeightedShare`
  subclass: the policy gives each UE a **weight**, and the scheduler water-fills every (cell,
  slice) group's PRB budget in proportion to it, for all cells and UEs at once (numpy, no loop
  over UEs);
* that a registered name is accepted by the scenario's ``[[slices]] policy`` field (the
  registration must happen before the scenario is loaded, so a scenario *file* naming this
  policy needs the module imported first — as here, in Python);
* comparing it with round robin on the same seed.

The policy: weight = (rate per PRB)^α, with α = 0.5 — between round robin (α = 0: equal PRBs)
and a rate-proportional share (α = 1): good channels get more PRBs, bad ones are not starved.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import one_cell  # noqa: E402

import simran  # noqa: E402
from simran.mac.policies import WeightedShare, available_policies, register_policy  # noqa: E402


@register_policy("sqrt_rate")
class SqrtRate(WeightedShare):
    """PRB shares ∝ √(rate per PRB) [bit/s]: a middle way between round robin and max rate."""

    description = "shares ∝ √rate"
    alpha = 0.5

    def weight(self, rate_bps, avg_bps):
        return np.maximum(rate_bps, 1.0) ** self.alpha       # [U], positive


def run(policy: str, duration_s: float, folder: Path) -> dict:
    """eMBB throughput [Mbit/s] and its worst phone's mean throughput [Mbit/s]."""
    data = one_cell(duration_s, [])
    data["slices"][0]["policy"] = policy
    data["ue_groups"][0]["count"] = 12
    data["output"]["ue_kpis"] = True
    path = folder / f"{policy}.h5"
    simran.run_scenario(simran.Scenario.from_dict(data), path)
    res = simran.load_results(path)
    phones = res.ue[res.ue["slice"] == 0].groupby("ue")["throughput_mbps"].mean()
    return {"embb_mbps": res.summary["slice.embb.throughput_mbps_mean"],
            "worst_phone_mbps": float(phones.min())}


def main(duration_s: float = 2.0) -> dict[str, dict]:
    assert "sqrt_rate" in available_policies()
    with tempfile.TemporaryDirectory() as tmp:
        out = {p: run(p, duration_s, Path(tmp)) for p in ("rr", "sqrt_rate", "mr")}
    print(f"{'policy':<10} {'eMBB Mbit/s':>12} {'worst phone Mbit/s':>19}")
    for p, s in out.items():
        print(f"{p:<10} {s['embb_mbps']:12.2f} {s['worst_phone_mbps']:19.2f}")
    return out


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--duration", type=float, default=2.0, help="simulated seconds")
    main(ap.parse_args().duration)
