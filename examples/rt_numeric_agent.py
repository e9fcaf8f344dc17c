"""A numeric rt agent (a dApp): a proportional controller of a slice's PRB quota, every 5 ms tick.

Run it::

    python examples/rt_numeric_agent.py [--duration 3]

What it shows

* subclassing :class:`simran.hooks.Agent` and registering it under a ``kind``
  (:func:`simran.hooks.register_agent`);
* reading the :class:`simran.hooks.Observation`: ``tick_cell_slice_mbps`` [C, S] (the last
  tick's slice throughput), ``quota_pct`` [C, S], ``intent_mbps`` [S] (set by a scripted
  ``set_intent`` event);
* parameters from the scenario (``ctx.params``) and returning a :class:`simran.hooks.Decision`
  of control-surface actions; a quota the guard-rails refuse (> what the other slices leave) is
  clamped, and the decision log says so (``guard_verdict = "clamped"``);
* the ``rt`` loop: budget 10 ms, latency ``fixed:0.005`` (5 µs of compute), so every action lands
  at the next tick.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import one_cell, show  # noqa: E402

import simran  # noqa: E402
from simran.control import SetSliceQuota  # noqa: E402
from simran.hooks import Agent, Decision, register_agent  # noqa: E402


@register_agent("example_quota_p")
class QuotaP(Agent):
    """quota += kp · (intent − throughput) / intent · 100 [percentage points], every tick.

    params: ``slice`` (name; default the first), ``kp`` (0.1, dimensionless).
    """

    def __init__(self, ctx):
        super().__init__(ctx)
        self.slice = ctx.params.get("slice", ctx.slice_names[0])
        self.s = ctx.slice_index(self.slice)          # ValueError naming the slices if unknown
        self.kp = float(ctx.params.get("kp", 0.1))

    def first_observation_us(self) -> int:
        return 0                                      # from the first tick on

    def decide(self, obs):
        intent = float(obs.intent_mbps[self.s])       # NaN until an intent is set
        if intent != intent or intent <= 0:
            return None                               # logged as "no_action"
        thr = float(obs.tick_cell_slice_mbps[0, self.s])   # cell 0, last tick [Mbit/s]
        quota = float(obs.quota_pct[0, self.s])
        new = quota + self.kp * (intent - thr) / intent * 100.0
        return Decision(actions=[SetSliceQuota(slice=self.slice, quota_pct=new, cell=0)])


def scenario(duration_s: float = 3.0) -> simran.Scenario:
    agent = {"name": "p", "kind": "example_quota_p", "loop": "rt", "period_ms": 5.0,
             "latency": "fixed:0.005", "params": {"slice": "embb", "kp": 0.1}}
    intent = {"at_s": 0.0, "action": "set_intent", "slice": "embb", "value": 80.0,
              "tolerance": 5.0}
    return simran.Scenario.from_dict(one_cell(duration_s, [agent], events=[intent]))


def main(duration_s: float = 3.0) -> simran.RunResult:
    res = simran.run_scenario(scenario(duration_s), None)
    show(res.summary)
    return res


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--duration", type=float, default=3.0, help="simulated seconds")
    main(ap.parse_args().duration)
