"""A non-RT agent (an rApp) that exchanges messages: a broker asks the tenants of two slices for
the PRB share they want (a negotiation round), splits the cell among them, and tells each tenant
what it got.

Run it::

    python examples/non_rt_messages.py [--duration 6]

What it shows

* an agent with a **run loop of its own** (:meth:`Broker.run`, a SimPy generator): it waits with
  ``ctx.timeout``, runs a round with ``yield from ctx.round(...)`` (each tenant's reply arrives
  after the latency its own latency model charges; the network keeps running meanwhile), then
  decides through the normal decision path (:meth:`simran.hooks.Agent.step`: latency, budget,
  guard-rails, decision log);
* answering a round: :meth:`Tenant.respond` returns a :class:`simran.hooks.Decision` whose
  ``reply`` is the answer;
* plain messages: the broker's decision carries ``messages`` — sent when the decision is ready
  (t0 + L) — and each tenant reads them from ``obs.inbox`` (a list of
  :class:`simran.hooks.Message`) at its next observation; ``ctx.send`` sends one directly.
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


@register_agent("example_tenant")
class Tenant(Agent):
    """Wants enough PRBs for its slice's intent: bid = quota · intent / throughput [%].

    params: ``slice``, ``intent_mbps``. Every period it reads the grants it was told about
    (``grants``, in %).
    """

    def __init__(self, ctx):
        super().__init__(ctx)
        self.slice = ctx.params["slice"]
        self.s = ctx.slice_index(self.slice)
        self.intent = float(ctx.params["intent_mbps"])
        self.grants: list[float] = []

    def decide(self, obs):
        # every period: read the grants the broker sent (the observation drains the inbox)
        for m in obs.inbox:
            self.grants.append(float(m.payload["quota_pct"]))
        return None                        # logged as "no_action"

    def respond(self, request, obs):
        # a round's observation leaves the inbox alone (obs.inbox is empty here)
        thr = float(obs.kpi_cell_slice_mbps[0, self.s])       # last KPI period [Mbit/s]
        quota = float(obs.quota_pct[0, self.s])
        want = quota * self.intent / thr if thr > 0 else quota + 10.0
        return Decision(reply={"slice": self.slice, "quota_pct": min(want, 100.0)},
                        note=f"want {want:.1f} %")


@register_agent("example_broker")
class Broker(Agent):
    """Every ``period_ms``: a round to ``tenants``, then quotas ∝ bids, scaled to ≤ 100 %."""

    def __init__(self, ctx):
        super().__init__(ctx)
        self.tenants = list(ctx.params["tenants"])
        self.deadline_ms = float(ctx.params.get("deadline_ms", 2000.0))
        self.bids: dict[str, dict] = {}
        self.rounds = 0

    def run(self):
        while True:
            yield self.ctx.timeout(self.period_us)
            res = yield from self.ctx.round(self.tenants, {"ask": "quota_pct"},
                                            deadline_ms=self.deadline_ms)
            self.rounds += 1
            self.bids = {name: rep.payload for name, rep in res.replies.items()}
            latency_us = self.step(self.ctx.now_us)        # observe → decide → latency → log
            if latency_us:
                yield self.ctx.timeout(latency_us)

    def decide(self, obs):
        if not self.bids:
            return None
        total = sum(b["quota_pct"] for b in self.bids.values())
        scale = min(1.0, 100.0 / total) if total > 0 else 1.0
        actions, messages = [], []
        for name, bid in self.bids.items():
            q = round(bid["quota_pct"] * scale, 1)
            actions.append(SetSliceQuota(slice=bid["slice"], quota_pct=q, cell=0))
            messages.append((name, {"quota_pct": q}))
        # lower quotas first, so a raise is not clamped by a share not yet given back
        actions.sort(key=lambda a: a.quota_pct - float(obs.quota_pct[0, obs.slice_names.index(
            a.slice)]))
        return Decision(actions=actions, messages=messages,
                        note=f"bids {total:.1f} % in total, scaled by {scale:.2f}")

    def run_report(self):
        return [f"{self.rounds} rounds with {', '.join(self.tenants)}"]


def scenario(duration_s: float = 6.0) -> simran.Scenario:
    agents = [
        {"name": "broker", "kind": "example_broker", "loop": "non_rt", "period_ms": 1000.0,
         "latency": "fixed:200", "params": {"tenants": ["tenant-embb", "tenant-iot"]}},
        {"name": "tenant-embb", "kind": "example_tenant", "loop": "non_rt",
         "latency": "fixed:300", "params": {"slice": "embb", "intent_mbps": 60.0}},
        {"name": "tenant-iot", "kind": "example_tenant", "loop": "non_rt",
         "latency": "fixed:800", "params": {"slice": "iot", "intent_mbps": 6.0}}]
    return simran.Scenario.from_dict(one_cell(duration_s, agents))


def main(duration_s: float = 6.0) -> tuple[simran.RunResult, list]:
    grants: list = []

    def keep(ctx, cls):                     # keep the agents to print what they received
        a = cls(ctx)
        grants.append(a)
        return a
    res = simran.run_scenario(scenario(duration_s), None, agent_factory=keep)
    for lines in res.reports.values():
        print("\n".join(lines))
    for a in grants:
        if isinstance(a, Tenant):
            print(f"{a.name} was granted {a.grants} %")
    show(res.summary)
    return res, grants


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--duration", type=float, default=6.0, help="simulated seconds")
    main(ap.parse_args().duration)
