"""The agent path's shortcuts compute what the general paths compute (issue 18, third round).

Each shortcut taken by an ``rt`` agent's every-tick loop is checked against the path it skips:

* :func:`simran._drive.drive` runs a loop in the very event order of ``env.process``;
* the control surface's one-cell quota path equals the general validation, bit for bit, on
  accepted, clamped and refused actions;
* a small sum buffer that takes its ticks in blocks (``np.add.accumulate``) equals adding every
  tick at once, also when read in the middle of a run;
* a plain decision logged as a tuple becomes the record the wrapper would have built, and a row
  list once handed out never holds anything but records;
* reused allocations kept per CQI vector, with the cache emptied often, equal recomputed ticks;
* :func:`simran._drive.fewer_collections` restores the GC thresholds, nested or not;
* the hand-written ``SetSliceQuota.__init__`` and the tuple-backed decision record behave as the
  generated dataclass and the slotted record they replace.
"""

from __future__ import annotations

import dataclasses
import gc
import pickle
from pathlib import Path

import numpy as np
import pytest
import simpy

from simran import _drive
from simran.control import ControlSurface, SetSliceQuota
from simran.hooks import DECISION_COLUMNS, DecisionRecord
from simran.hooks.decisions import DecisionLog, plain_record
from simran.output import collectors
from simran.scenario import Scenario, apply_overrides, read_toml
from simran.simulation import NetworkState, Simulation

REPO = Path(__file__).resolve().parent.parent


def _type1(**over):
    data = read_toml(REPO / "scenarios" / "symbiotic_type1.toml")
    data = apply_overrides(data, {"simulation.duration_s": 6.0, "agents.1.backend": "scripted",
                                  **over})
    return Simulation(Scenario.from_dict(data, base_dir=REPO / "scenarios"))


# ------------------------------------------------------------------------ drive ------------
def _order(use_drive: bool) -> list:
    """Three loops with equal periods and ties at every instant, started in a fixed order; the
    second creates extra events at the same instants (messages, a nested process)."""
    env, seen = simpy.Environment(), []

    def loop(name, period, prio_urgent=False):
        while True:
            seen.append((env.now, name))
            if name == "b":                              # same-time work of other kinds
                env.process(side(env.now))
                env.timeout(0).callbacks.append(lambda e: seen.append((env.now, "b0")))
            ev = simpy.events.Event(env)
            ev._ok, ev._value = True, None
            env.schedule(ev, simpy.events.URGENT if prio_urgent else simpy.events.NORMAL,
                         period)
            yield ev

    def side(t):
        seen.append((env.now, "side"))
        yield env.timeout(3)
        seen.append((env.now, "side+3"))

    for name, period, urgent in (("a", 5, True), ("b", 5, False), ("c", 10, False)):
        if use_drive and name != "b":
            _drive.drive(env, loop(name, period, urgent))
        else:
            env.process(loop(name, period, urgent))
    env.run(until=41)
    return seen


def test_drive_keeps_the_event_order_of_env_process():
    """Loops driven by :func:`drive` interleave with processes and same-instant events exactly
    as under ``env.process`` (SimPy orders by time, priority, creation)."""
    a, b = _order(False), _order(True)
    assert len(a) > 40 and a == b


def test_drive_ends_with_the_generator_and_refuses_anything_but_pending_events():
    env = simpy.Environment()
    done = []

    def finite():
        yield env.timeout(2)
        done.append(env.now)

    _drive.drive(env, finite())
    env.run()
    assert done == [2]

    def bad():
        yield 7

    _drive.drive(env, bad())
    with pytest.raises(TypeError, match="may only yield pending events"):
        env.run()


def test_an_agent_failure_still_names_the_agent():
    """An exception in a driven agent's decide reaches env.run as the AgentError naming it."""
    from simran.errors import AgentError

    sim = _type1()
    ctrl = sim.agents[0]
    assert ctrl.default_loop()

    def boom(obs):
        raise ValueError("broken controller")
    ctrl.decide = boom
    with pytest.raises(AgentError, match=r"agent 'pcontrol' .*ValueError: broken controller"):
        sim.run()


# ----------------------------------------------------------------- control surface ---------
def _surface(C, S, quotas):
    net = NetworkState(n_cells=C, quota_pct=np.array(quotas, float).reshape(C, S),
                       tx_power_dbm=np.full(C, 46.0), cell_state=np.zeros(C, np.int8),
                       intent_mbps=np.full(S, np.nan), intent_tol_mbps=np.zeros(S))
    log = []
    return net, ControlSurface(net, [f"s{i}" for i in range(S)], 0.0, 49.0,
                               on_applied=lambda *a: log.append(a))


def _copy(cs):
    """A twin surface on a copy of the state (to ask the fast path without applying)."""
    n = cs.net
    net, twin = _surface(n.n_cells, n.quota_pct.shape[1], n.quota_pct.ravel())
    return twin


def test_one_cell_quota_path_equals_the_general_path():
    """Every SetSliceQuota the fast path takes (valid slice, int cell, float in [0, 100]) gives
    the verdict and the state the general path gives; the rest takes the general path."""
    rng = np.random.default_rng(18)
    taken = 0
    for trial in range(400):
        C, S = [(1, 1), (1, 3), (3, 2)][trial % 3]
        q0 = rng.uniform(0, 100 / S, C * S)
        net_a, fast = _surface(C, S, q0)
        net_b, slow = _surface(C, S, q0)
        for _ in range(6):
            qs = [float(rng.uniform(-20, 130)), float(rng.uniform(0, 100)), 0.0, 100.0,
                  float("nan"), 37, np.float64(5.0)]
            cells = [0, C - 1, C, -1, True, np.int64(0), None]
            q = qs[rng.integers(len(qs))]
            cell = cells[rng.integers(len(cells))] if trial % 7 else 0
            sl = [f"s{S - 1}", "s0", "nope"][rng.integers(3)]
            a = SetSliceQuota(sl, q, cell)
            if type(a.cell) is int and a.cell in fast._one_cell:
                taken += _copy(fast)._quota_one(a) is not None
            va = fast.apply(a)
            vb = slow._dispatch(a, apply=True)
            assert (va.status, va.reason, va.applied) == (vb.status, vb.reason, vb.applied), a
            assert np.array_equal(net_a.quota_pct, net_b.quota_pct)
            if va.status != "rejected":                # written: a new read-only array
                assert not net_a.quota_pct.flags.writeable
    assert taken > 300                                 # the fast path was exercised


# ----------------------------------------------------------------------- collector ---------
def _outputs(sim, mid: list):
    def probe(t_us):
        mid.append((sim.energy_j.copy(), sim.collector.ue_total_bits.copy(),
                    sim.collector.sinr_n.copy()))
    sim.run(progress=probe)
    t, cell, sl, ut, ue = sim.collector.trimmed()
    return t, cell, sl, ut, ue, sim.energy_j, sim.summary()


def _same(x, y):
    if isinstance(x, dict):
        assert x.keys() == y.keys()
        for k in x:
            _same(x[k], y[k])
    elif isinstance(x, (list, tuple)):
        assert len(x) == len(y)
        for p, q in zip(x, y):
            _same(p, q)
    elif isinstance(x, np.ndarray):
        assert x.dtype == y.dtype and np.array_equal(x, y, equal_nan=True)
    else:
        assert x == y or (x != x and y != y)


@pytest.mark.parametrize("over", [{}, {"output.kpi_period_ms": 100.0, "agents": []}])
def test_sums_taken_in_blocks_equal_sums_of_every_tick(monkeypatch, over):
    """A small buffer's sums added per block of ticks (np.add.accumulate: the same additions
    in the same order) equal one addition per tick, at every read in the run and at the end."""
    mid_fast, mid_slow = [], []
    fast = _type1(**over)
    assert fast.collector._later is not None
    a = _outputs(fast, mid_fast)
    monkeypatch.setattr(collectors, "FOLD_MAX", 0)
    slow = _type1(**over)
    assert slow.collector._later is None
    b = _outputs(slow, mid_slow)
    _same(a, b)
    _same(mid_fast, mid_slow)
    assert len(mid_fast) == 100


@pytest.mark.parametrize("entries", [2, 256])
def test_allocations_kept_per_cqi_equal_recomputed_ticks(monkeypatch, entries):
    """Reused allocations kept per CQI vector (the cache emptied every 2 entries, or up to
    256), runs of identical ticks in the pending records and the kernel's 'nothing changed'
    shortcut give every output of the run that recomputes every tick, bit for bit."""
    import simran.tick as simulation

    monkeypatch.setattr(simulation, "MEMO_ENTRIES", entries)
    out = []
    for reuse in (True, False):
        sim = _type1(**{"simulation.duration_s": 12.0})
        sim.reuse_ticks = reuse
        calls = []
        orig = sim.scheduler.allocate
        sim.scheduler.allocate = lambda *a, _o=orig, _c=calls, **k: _c.append(1) or _o(*a, **k)
        sim.run()
        rows = [r.to_dict() for r in sim.decision_log.rows]
        for r in rows:
            r.pop("wall_s")
        t, cell, sl, ut, ue = sim.collector.trimmed()
        out.append(((t, cell, sl, ut, ue, sim.energy_j, sim.summary(), rows), len(calls)))
    (a, n_fast), (b, n_slow) = out
    _same(a, b)
    assert n_slow == 2400 and n_fast < (2400 if entries == 2 else 400)


# --------------------------------------------------------------------- decision log --------
def test_plain_decisions_become_the_records_the_wrapper_builds():
    """Rows of a run read only at the end (plain decisions kept as tuples meanwhile) equal the
    rows of the same run whose log was read before it started (every row a record at once)."""
    lazy, eager = _type1(), _type1()
    assert eager.decision_log.rows == []                 # handed out: records from now on
    lazy.run()
    eager.run()
    assert lazy.decision_log._plain > 0 and eager.decision_log._plain == 0
    a = [r.to_dict() for r in lazy.decision_log.rows]
    b = [r.to_dict() for r in eager.decision_log.rows]
    for r in a + b:
        r.pop("wall_s")
    assert a == b and len(a) > 1000
    assert [r["decision_id"] for r in a] == list(range(len(a)))
    assert sum(r["status"] == "no_action" for r in a) > 300


def test_a_row_list_handed_out_mid_run_holds_only_records():
    sim = _type1()
    sim.start()
    sim.env.run(until=2_000_000)
    rows = sim.decision_log.rows                          # read during the run
    n = len(rows)
    sim.env.run(until=4_000_000)
    assert len(rows) > n and all(type(r) is DecisionRecord for r in rows)
    assert len(sim.decision_log) == len(rows)


def test_plain_record_fields():
    r = plain_record(7, ("pc", "pcontrol", "rt", 1.0), 5_000, 500, 2e-6, "no_action", True)
    d = r.to_dict()
    assert d["decision_id"] == 7 and d["agent"] == "pc" and d["budget_ms"] == 1.0
    assert d["t_obs_s"] == 0.005 and d["t_ready_s"] == 0.0055 and d["latency_ms"] == 0.5
    assert d["actions"] == [] and d["n_actions"] == 0 and d["t_apply_s"] is None
    assert d["validation"] == "ok" and d["prompt"] == "" and d["note"] == ""
    log = DecisionLog()
    log.add_plain(("pc", "pcontrol", "rt", 1.0), 0, 0, 0.0, "no_action", True)
    assert len(log) == 1 and log.rows[0].decision_id == 0


def test_tuple_backed_record_fields_read_write_and_pickle():
    r = DecisionRecord()
    for i, c in enumerate(DECISION_COLUMNS):
        r[c] = i
    assert [r[c] for c in DECISION_COLUMNS] == list(range(len(DECISION_COLUMNS)))
    r.note = r.note + 1
    assert r["note"] == DECISION_COLUMNS.index("note") + 1 and r.agent == 1
    s = pickle.loads(pickle.dumps(r))
    assert s == r and s.to_dict() == r.to_dict()
    with pytest.raises(KeyError):
        r["nope"] = 1


# ------------------------------------------------------------------------- misc ------------
def test_fewer_collections_restores_the_thresholds():
    before = gc.get_threshold()
    with _drive.fewer_collections():
        assert gc.get_threshold()[0] == max(before[0], _drive.GC_GEN0_THRESHOLD)
        with _drive.fewer_collections():
            assert gc.get_threshold()[0] == max(before[0], _drive.GC_GEN0_THRESHOLD)
        assert gc.get_threshold()[0] == max(before[0], _drive.GC_GEN0_THRESHOLD)
    assert gc.get_threshold() == before
    with pytest.raises(RuntimeError):
        with _drive.fewer_collections():
            raise RuntimeError("a failing run")
    assert gc.get_threshold() == before
    _type1(**{"simulation.duration_s": 0.5}).run()
    assert gc.get_threshold() == before


def test_set_slice_quota_behaves_as_the_generated_dataclass():
    a = SetSliceQuota("embb", 40.0, 1)
    b = SetSliceQuota(slice="embb", quota_pct=40.0, cell=1)
    assert a == b and hash(a) == hash(b) and a.kind == "set_slice_quota"
    assert dataclasses.asdict(a) == {"slice": "embb", "quota_pct": 40.0, "cell": 1,
                                     "kind": "set_slice_quota"}
    assert dataclasses.replace(a, cell=None) == SetSliceQuota("embb", 40.0)
    assert repr(a) == "SetSliceQuota(slice='embb', quota_pct=40.0, cell=1, " \
                      "kind='set_slice_quota')"
    with pytest.raises(dataclasses.FrozenInstanceError):
        a.quota_pct = 3.0
    with pytest.raises(TypeError):
        SetSliceQuota("embb")
    assert pickle.loads(pickle.dumps(a)) == a
