"""The round primitive (simran.hooks.messages): timeouts, ordering, busy agents, determinism
independent of thread timing, and a network that keeps running during a round."""

from __future__ import annotations

import time

import numpy as np
import pytest

import simran
from simran.hooks import Agent, Decision, MessageError, register_agent

BASE = {
    "name": "rounds",
    "simulation": {"duration_s": 3.0, "seed": 5},
    "network": {"layout": "hex", "rings": 0, "sectors": 1},
    "slices": [{"name": "a", "quota_pct": 100}],
    "ue_groups": [{"name": "u", "count": 3, "slice": "a"}],
    "output": {"kpi_period_ms": 5, "ue_kpis": False},
}


@register_agent("test_round_caller")
class Caller(Agent):
    """Runs the rounds listed in params.rounds: [start_ms, [dsts], deadline_ms]."""

    def __init__(self, ctx):
        super().__init__(ctx)
        self.results = []

    def run(self):
        p = self.ctx.params
        for start_ms, dsts, deadline_ms in p["rounds"]:
            wait = int(start_ms * 1000) - self.ctx.now_us
            if wait > 0:
                yield self.ctx.timeout(wait)
            res = yield from self.ctx.round(dsts, lambda d: {"to": d, "ask": 1},
                                            deadline_ms=deadline_ms,
                                            delay_ms=p.get("delay_ms", 0.0),
                                            max_workers=p.get("workers"))
            self.results.append((self.ctx.now_us, res))


@register_agent("test_responder")
class Responder(Agent):
    """Replies with a draw of its own RNG (params.silent: never replies; params.jitter_s: sleeps
    a random wall time first, so threads finish in a random order)."""

    def respond(self, request, obs):
        p = self.ctx.params
        if p.get("silent"):
            return None
        if p.get("jitter_s"):
            time.sleep(float(np.random.default_rng().uniform(0, p["jitter_s"])))
        return Decision(reply={"from": self.name, "x": float(self.rng.uniform()),
                               "to": request.payload["to"], "t_obs_us": obs.t_us})


def responder(name, latency, **params):
    return {"name": name, "kind": "test_responder", "loop": "non_rt", "period_ms": 100_000,
            "latency": latency, "params": params}


def caller(rounds, **params):
    return {"name": "m", "kind": "test_round_caller", "loop": "non_rt",
            "latency": "fixed:0", "params": {"rounds": rounds, **params}}


def run(agents, **sim):
    data = {**BASE, "agents": agents}
    data["simulation"] = {**BASE["simulation"], **sim}
    s = simran.Simulation(simran.Scenario.from_dict(data))
    s.run()
    return s


def test_replies_arrive_after_each_senders_latency_and_late_ones_time_out():
    sim = run([caller([[100, ["fast", "mid", "slow"], 1000]]),
               responder("fast", "fixed:100"), responder("mid", "fixed:300"),
               responder("slow", "fixed:2000")])
    t_end, res = sim.agents[0].results[0]
    assert res.t_start_us == 100_000 and res.deadline_us == 1_100_000
    assert res.answered == ["fast", "mid"]
    assert res.replies["fast"].t_arrive_us == 200_000
    assert res.replies["mid"].t_arrive_us == 400_000
    assert res.late == {"slow": 2_100_000}
    assert res.timed_out == ["slow"] and not res.complete
    assert t_end == res.t_end_us == 1_100_000                 # waited until the deadline
    rows = {r["agent"]: r for r in sim.decision_log.rows if "round" in (r["note"] or "")}
    assert rows["slow"]["status"] == "reply_late" and rows["fast"]["status"] == "replied"
    assert rows["mid"]["latency_ms"] == 300.0


def test_round_ends_with_its_slowest_participant_when_all_answer():
    sim = run([caller([[50, ["a", "b"], 5000]]), responder("a", "fixed:40"),
               responder("b", "fixed:700")])
    t_end, res = sim.agents[0].results[0]
    assert res.complete and t_end == 50_000 + 700_000 == res.t_end_us
    assert res.duration_us == 700_000


def test_silent_and_unknown_recipients():
    sim = run([caller([[10, ["a", "ghost", "quiet"], 500]]), responder("a", "fixed:1"),
               responder("quiet", "fixed:1", silent=True)])
    _, res = sim.agents[0].results[0]
    assert res.unknown == ["ghost"] and res.silent == ["quiet"] and res.answered == ["a"]
    assert res.t_end_us == res.deadline_us


def test_ties_keep_the_order_asked_and_arrivals_sort_replies():
    sim = run([caller([[10, ["c", "b", "a"], 900]]), responder("a", "fixed:5"),
               responder("b", "fixed:5"), responder("c", "fixed:1")])
    _, res = sim.agents[0].results[0]
    assert res.answered == ["c", "b", "a"]        # c first by time, then b before a as asked
    sim = run([caller([[10, ["a", "b", "c"], 900]]), responder("a", "fixed:5"),
               responder("b", "fixed:5"), responder("c", "fixed:1")])
    assert sim.agents[0].results[0][1].answered == ["c", "a", "b"]


def test_transport_delay_applies_to_request_and_reply():
    sim = run([caller([[10, ["a"], 900]], delay_ms=20), responder("a", "fixed:5")])
    _, res = sim.agents[0].results[0]
    rep = res.replies["a"]
    assert rep.t_request_us == 30_000 and rep.t_arrive_us == 30_000 + 5_000 + 20_000
    assert rep.payload["t_obs_us"] == 30_000           # the recipient observed on arrival


def test_a_busy_recipient_answers_when_free():
    # two overlapping rounds ask the same slow agent: the second reply waits for the first
    sim = run([caller([[10, ["s"], 5000]]),
               {**caller([[20, ["s"], 5000]]), "name": "m2"}, responder("s", "fixed:300")])
    r1 = sim.agents[0].results[0][1].replies["s"]
    r2 = sim.agents[1].results[0][1].replies["s"]
    assert r1.t_arrive_us == 310_000
    assert r2.t_arrive_us == 310_000 + 300_000 and r2.latency_us == 590_000


def test_network_keeps_running_during_a_round():
    sim = run([caller([[100, ["s"], 5000]]), responder("s", "fixed:1500")])
    t_end, res = sim.agents[0].results[0]
    t_s, _, sl, _, _ = sim.collector.trimmed()
    during = (t_s > 0.1) & (t_s <= 1.6)
    assert during.sum() == 300                     # 1.5 s of 5 ms ticks were scheduled meanwhile
    assert np.all(sl["throughput_mbps"][during, 0, 0] > 0)


def rounds_payload(sim):
    return [(t, r.t_end_us, [(n, x.payload["x"], x.t_arrive_us) for n, x in r.replies.items()],
             dict(r.late)) for t, r in sim.agents[0].results]


@pytest.mark.parametrize("workers", [1, 8])
def test_same_seed_same_round_whatever_the_threads(workers):
    names = [f"t{i}" for i in range(8)]
    agents = [caller([[10, names, 900], [2000, names, 300]], workers=workers)]
    agents += [responder(n, "profile:llama3.3:70b", jitter_s=0.01) for n in names]
    a = run(agents)
    b = run([caller([[10, names, 900], [2000, names, 300]], workers=1)]
            + [responder(n, "profile:llama3.3:70b") for n in names])
    assert rounds_payload(a) == rounds_payload(b)
    rows = [(r["agent"], r["t_obs_s"], r["latency_ms"], r["status"]) for r in a.decision_log.rows]
    assert rows == [(r["agent"], r["t_obs_s"], r["latency_ms"], r["status"])
                    for r in b.decision_log.rows]


def test_parallel_decide_runs_concurrently_and_keeps_order():
    from simran.hooks import parallel_decide

    def slow(i):
        return lambda: (time.sleep(0.2), i)[1]
    t0 = time.perf_counter()
    out = parallel_decide([slow(i) for i in range(4)], max_workers=4)
    assert out == [0, 1, 2, 3]
    assert time.perf_counter() - t0 < 0.6           # 4 × 0.2 s sequentially would be 0.8 s


def test_send_to_an_unknown_agent_is_an_error():
    sim = run([responder("a", "fixed:1")], duration_s=0.01)
    with pytest.raises(MessageError, match="no agent named 'ghost'"):
        sim.agents[0].ctx.send("ghost", {"x": 1})
