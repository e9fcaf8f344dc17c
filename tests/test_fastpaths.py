"""The kernel's fast paths compute what the general paths compute.

Each shortcut of the per-tick loop (``benchmarks/bench_type1.py``: one route went from 16× to
~60× real time) is checked against the path it short-cuts, on inputs where the shortcut applies:

* the EARTH model without per-call validation (:class:`simran.radio.energy.CellPowerModel`)
  equals the validated :func:`simran.radio.energy.cell_power_w` bit for bit;
* a scheduler group with one UE gets ``min(budget, need)`` — what water-filling gives a lone
  member — and an all-full-buffer tick (``demand_bits=None``) equals demands of +inf;
* per-tick KPI records written in blocks equal the accumulate-and-average records, bit for bit,
  with handovers and a cell switched off inside a block;
* the network state is copy-on-write and read-only, so an observation is a snapshot that no later
  action changes and that no agent can write into;
* a decision-log record behaves as the dict it replaced;
* the channel (issue 18): correlated fields sampled with kept work buffers equal fresh arrays;
  angles, LOS, path loss and shadowing computed once per site equal the per-cell computation;
  the SINR with the serving links' powers cached equals the uncached formula;
* the tick (issue 18): the inlined threshold SINR → CQI equals ``sinr_to_cqi``; the scheduler's
  all-active shortcut equals the masked path; CBR demand without the mask equals the masked one.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from reference.scheduler_ref import ReferenceScheduler

from simran.control import ControlSurface, SetCellPower, SetSliceQuota
from simran.hooks import DECISION_COLUMNS, Agent, DecisionLog, DecisionRecord, register_agent
from simran.mac.scheduler import SliceScheduler
from simran.radio.energy import BS_TYPES, CellPowerModel, cell_power_w
from simran.scenario import apply_overrides, read_toml
from simran.simulation import NetworkState, Simulation

REPO = Path(__file__).resolve().parent.parent
TICK_S = 0.005
N_PRB = 106


# ------------------------------------------------------------------------------ energy -------
@pytest.mark.parametrize("bs_type", sorted(BS_TYPES))
@pytest.mark.parametrize("sectors", [1, 3])
def test_power_model_equals_validated_function(bs_type, sectors):
    rng = np.random.default_rng(7)
    model = CellPowerModel(bs_type, sectors)
    for _ in range(50):
        C = int(rng.integers(1, 12))
        load = rng.uniform(0, 1, C)
        load[rng.uniform(size=C) < 0.2] = 0.0
        tx_w = rng.uniform(0, 80, C)
        on = rng.uniform(size=C) < 0.7
        model.prepare(tx_w, on)
        want = cell_power_w(load, tx_w, on, bs_type, sectors)
        assert np.array_equal(model.power_w(load), want)
        model.prepare(tx_w, np.ones(C, bool))              # all on: the np.where is skipped
        assert np.array_equal(model.power_w(load), cell_power_w(load, tx_w, np.ones(C, bool),
                                                                 bs_type, sectors))


# ------------------------------------------------------------------------------ scheduler ----
def _singleton_case(rng):
    """C cells × S slices with at most one UE per (cell, slice)."""
    C, S = int(rng.integers(1, 5)), int(rng.integers(1, 4))
    groups = rng.permutation(C * S)[: int(rng.integers(1, C * S + 1))]
    serving, ue_slice = groups // S, groups % S
    U = groups.size
    quota = rng.uniform(0, 1, (C, S))
    quota = quota / quota.sum(axis=1, keepdims=True) * rng.uniform(30, 100, (C, 1))
    bpp = rng.choice([0.0, 220.0, 2000.0, 8025.5], size=U)
    demand = np.where(rng.uniform(size=U) < 0.5, np.inf, rng.exponential(50_000, U))
    return dict(C=C, S=S, U=U, serving=serving, ue_slice=ue_slice, quota=quota, bpp=bpp,
                demand=demand, active=rng.uniform(size=U) < 0.9,
                cell_on=rng.uniform(size=C) < 0.8,
                policies=[str(p) for p in rng.choice(["rr", "pf", "mr"], size=S)],
                lending=bool(rng.uniform() < 0.5), beta=float(rng.uniform(0.01, 1)))


@pytest.mark.parametrize("seed", range(3))
def test_singleton_groups_match_reference_scheduler(seed):
    rng = np.random.default_rng(seed)
    for _ in range(40):
        case = _singleton_case(rng)
        s = SliceScheduler(case["C"], case["S"], N_PRB, case["policies"], case["lending"],
                           case["beta"])
        ref = ReferenceScheduler(case["C"], case["S"], N_PRB, case["policies"], case["lending"],
                                 case["beta"])
        for _tick in range(3):
            got = s.allocate(case["serving"], case["ue_slice"], case["active"], case["bpp"],
                             case["demand"], case["quota"], case["cell_on"], TICK_S)
            assert s._singleton                          # the fast path was taken
            want = ref.allocate(case["serving"].tolist(), case["ue_slice"].tolist(),
                                case["active"].tolist(), case["bpp"].tolist(),
                                case["demand"].tolist(), case["quota"].tolist(),
                                case["cell_on"].tolist(), TICK_S)
            np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12, err_msg=str(case))
            case["bpp"] = case["bpp"] * rng.uniform(0.5, 1.5, case["U"])


def test_shared_group_leaves_the_fast_path():
    s = SliceScheduler(1, 1, N_PRB, ["rr"], False, 0.1)
    two = np.array([0, 0])
    prb = s.allocate(two, np.array([0, 0]), np.ones(2, bool), np.full(2, 8000.0),
                     np.full(2, np.inf), np.array([[100.0]]), np.ones(1, bool), TICK_S)
    assert not s._singleton
    np.testing.assert_allclose(prb, [53.0, 53.0])      # round robin: 106 / 2 each


def test_full_buffer_demand_none_equals_infinite_demands():
    rng = np.random.default_rng(3)
    for _ in range(30):
        C, S, U = 3, 2, int(rng.integers(1, 20))
        args = (rng.integers(0, C, U), rng.integers(0, S, U), rng.uniform(size=U) < 0.9,
                rng.choice([0.0, 500.0, 8025.5], size=U))
        quota = np.full((C, S), 40.0)
        on = np.array([True, False, True])
        a = SliceScheduler(C, S, N_PRB, ["pf", "rr"], True, 0.2)
        b = SliceScheduler(C, S, N_PRB, ["pf", "rr"], True, 0.2)
        for _tick in range(3):
            got = a.allocate(*args, None, quota, on, TICK_S)
            want = b.allocate(*args, np.full(U, np.inf), quota, on, TICK_S)
            assert np.array_equal(got, want)


# ------------------------------------------------------------------------------ KPI records --
def _quickstart(**over):
    data = read_toml(REPO / "scenarios" / "quickstart.toml")
    base = {"agents": [], "simulation.duration_s": 3.0, "output.kpi_period_ms": 5.0,
            "output.ue_kpis": False}
    return apply_overrides(data, {**base, **over})


def test_block_written_per_tick_records_equal_accumulated_records():
    # 3 s = 600 ticks (more than one block of PENDING_TICKS = 256), UEs moving (handovers inside
    # blocks change the serving array) and a cell switched off at 1.2 s (state inside a block)
    from simran.scenario import Scenario

    data = _quickstart()
    data["events"] = data.get("events", []) + [
        {"at_s": 1.2, "action": "cell_off", "cell": 1}]
    records = []
    for block in (True, False):
        sim = Simulation(Scenario.from_dict(data, base_dir=REPO / "scenarios"))
        sim.collector._every_tick = block       # False: the accumulate-and-average path
        sim.run()
        records.append(sim.collector.trimmed())
        if block:
            assert sim.handovers > 0
    (t1, c1, s1, _, _), (t2, c2, s2, _, _) = records
    assert t1.size == 600 and np.array_equal(t1, t2)
    for k in c1:
        assert np.array_equal(c1[k], c2[k], equal_nan=True), k
    for k in s1:
        assert np.array_equal(s1[k], s2[k], equal_nan=True), k
    assert (c1["state"][300:, 1] != 0).all() and (c1["state"][:200, 1] == 0).all()


# ------------------------------------------------------------------------------ state --------
def _net(C=2, S=2):
    net = NetworkState(C, np.full((C, S), 40.0), np.full(C, 46.0), np.zeros(C, np.int8),
                       np.full(S, np.nan), np.zeros(S))
    return net, ControlSurface(net, [f"s{i}" for i in range(S)], 0.0, 49.0)


def test_control_surface_is_copy_on_write():
    net, cs = _net()
    before_q, before_p = net.quota_pct, net.tx_power_dbm
    assert cs.apply(SetSliceQuota("s1", 55.0, cell=1)).status == "accepted"
    assert cs.apply(SetCellPower(43.0, cell=0)).status == "accepted"
    assert net.quota_pct is not before_q and net.tx_power_dbm is not before_p
    assert before_q[1, 1] == 40.0 and before_p[0] == 46.0      # the old arrays are untouched
    assert net.quota_pct[1, 1] == 55.0 and net.tx_power_dbm[0] == 43.0
    with pytest.raises(ValueError):
        net.quota_pct[0, 0] = 99.0                            # read-only: only actions change it


@register_agent("_test_keeps_observations")
class _Keeper(Agent):
    def decide(self, obs):
        self.kept = getattr(self, "kept", []) + [obs]
        return [SetSliceQuota(obs.slice_names[0], 10.0 + len(self.kept), cell=0)]


def test_observation_is_a_read_only_snapshot():
    from simran.scenario import Scenario

    data = _quickstart(**{"simulation.duration_s": 0.1})
    data["agents"] = [{"name": "k", "kind": "_test_keeps_observations", "loop": "rt",
                       "period_ms": 5.0, "latency": "fixed:0"}]
    sim = Simulation(Scenario.from_dict(data, base_dir=REPO / "scenarios"))
    sim.run()
    kept = sim.agents[0].kept
    s0 = sim.slice_names[0]
    # each observation saw the quota its predecessor's action set (one tick later), and kept it
    seen = [float(o.quota_pct[0, 0]) for o in kept]
    assert seen[2:] == [10.0 + i for i in range(2, len(kept))], (s0, seen[:6])
    assert kept[0].tick_cell_slice_mbps is not kept[1].tick_cell_slice_mbps
    for field in ("quota_pct", "tx_power_dbm", "cell_state", "intent_mbps", "tick_prb_util",
                  "tick_cell_slice_mbps", "tick_cell_slice_prb"):
        with pytest.raises(ValueError):
            getattr(kept[-1], field)[0] = 0          # writing would bypass the guard-rails


_LAZY_FIELDS = ("kpi_cell_slice_mbps", "slice_names", "ue_cell", "ue_sinr_db", "ue_cqi",
                "ue_tick_mbps", "ue_kpi_mbps")


@register_agent("_test_reads_now")
class _ReadsNow(Agent):
    def first_observation_us(self):
        return 0

    def decide(self, obs):
        self.seen = getattr(self, "seen", [])
        self.seen.append({f: np.array(getattr(obs, f)) if f != "slice_names" else
                          list(obs.slice_names) for f in _LAZY_FIELDS})


@register_agent("_test_reads_later")
class _ReadsLater(Agent):
    def first_observation_us(self):
        return 0

    def decide(self, obs):
        self.kept = getattr(self, "kept", []) + [obs]


@pytest.mark.parametrize("kpi_ms", [5.0, 100.0])
def test_lazy_observation_fields_hold_the_values_of_t0(kpi_ms):
    """The derived fields of an observation (KPI of the last period, per-UE arrays) are
    computed when first read; read after the run, they equal what an agent observing at the
    same instants read at once (the network moved on meanwhile: handovers, new KPI records)."""
    from simran.scenario import Scenario

    data = _quickstart(**{"simulation.duration_s": 1.0, "output.kpi_period_ms": kpi_ms,
                          "output.ue_kpis": True, "output.ue_kpi_period_ms": 50.0})
    data["agents"] = [{"name": n, "kind": k, "loop": "rt", "period_ms": 5.0, "latency": "fixed:0"}
                      for n, k in (("now", "_test_reads_now"), ("later", "_test_reads_later"))]
    sim = Simulation(Scenario.from_dict(data, base_dir=REPO / "scenarios"))
    sim.run()
    now, later = sim.agents[0].seen, sim.agents[1].kept
    assert len(now) == len(later) == 200
    for want, obs in zip(now, later):
        for f in _LAZY_FIELDS:
            got = getattr(obs, f)
            if f == "slice_names":
                assert got == want[f]
                continue
            assert np.array_equal(got, want[f], equal_nan=True), f
            with pytest.raises(ValueError):
                got[...] = 0                                   # read-only
    assert not np.array_equal(now[3]["ue_tick_mbps"], now[150]["ue_tick_mbps"])
    assert np.isfinite(now[-1]["ue_kpi_mbps"]).all() and np.isnan(now[0]["ue_kpi_mbps"]).all()


# ------------------------------------------------------------------------------ decision log -
def test_decision_record_reads_and_writes_like_a_dict():
    log = DecisionLog()
    row = log.add({"agent": "a", "status": "pending", "n_actions": 1})
    assert isinstance(row, DecisionRecord) and row["decision_id"] == 0
    assert row["agent"] == "a" and row.get("prompt") is None and row.get("nope", 5) == 5
    row["status"] = "applied"
    assert row["status"] == "applied" and "status" in row and "nope" not in row
    assert list(row.keys()) == list(DECISION_COLUMNS) and len(row) == len(DECISION_COLUMNS)
    assert row == {**dict.fromkeys(DECISION_COLUMNS), "agent": "a", "status": "applied",
                   "n_actions": 1, "decision_id": 0}
    with pytest.raises(KeyError):
        row["nope"] = 1
    with pytest.raises(KeyError):
        row["nope"]
    cols = log.columns()
    assert cols["status"][0] == "applied" and cols["n_actions"][0] == 1


# ------------------------------------------------------------------------------ channel ------
def _field_sample_unbuffered(f, xy):
    """CorrelatedField.sample as written before its work buffers (fresh arrays per call)."""
    xy = np.asarray(xy, dtype=float).reshape(-1, 2)
    out = np.empty((f.n_fields, xy.shape[0]))
    chunk = max(1, 1_000_000 // max(1, xy.shape[0] * f.n_sinusoids))
    for start in range(0, f.n_fields, chunk):
        sl = slice(start, start + chunk)
        arg = xy @ f.wave_vectors[sl].transpose(0, 2, 1)
        arg += f.phases[sl, None, :]
        out[sl] = np.cos(arg.astype(np.float32)).sum(axis=-1, dtype=np.float64)
    return f._amplitude * out


@pytest.mark.parametrize("kernel", ["exponential", "gaussian"])
def test_field_sample_with_kept_buffers_equals_fresh_arrays(kernel):
    from simran.radio.channel import CorrelatedField

    rng = np.random.default_rng(3)
    # 40 fields × 600 points × 64 sinusoids: several chunks, the last one shorter
    f = CorrelatedField(np.random.default_rng(5), 40, 37.0, kernel=kernel)
    for n in (600, 600, 7, 600, 0, 1):     # reused, resized, empty
        xy = rng.uniform(-2000, 2000, (n, 2))
        assert np.array_equal(f.sample(xy), _field_sample_unbuffered(f, xy))


def test_angles_of_co_sited_cells_equal_per_cell_angles():
    from simran.radio import antenna, topology

    topo = topology.hex_grid(1, 500.0, sectors=3)          # 7 sites × 3 co-sited sectors
    ue = np.random.default_rng(2).uniform(-900, 900, (50, 2))
    got = antenna.angles(topo.cell_xy, topo.cell_azimuth_deg, 25.0, ue, 1.5)
    for c in range(topo.cell_xy.shape[0]):                 # one cell at a time: no sharing
        one = antenna.angles(topo.cell_xy[c:c + 1], topo.cell_azimuth_deg[c:c + 1], 25.0, ue,
                             1.5)
        for a, b in zip(got, one):
            assert np.array_equal(a[c], b[0])


@pytest.mark.parametrize("layout", ["hermes10", "hex1"])
def test_channel_per_site_equals_channel_per_cell(layout):
    from simran.radio.network import RadioNetwork
    from simran.scenario import Scenario

    data = read_toml(REPO / "scenarios" / "perf_300ue.toml")
    if layout == "hex1":
        data = apply_overrides(data, {"network.layout": "hex", "network.rings": 1,
                                      "network.scenario": "UMi"})
    net_cfg = Scenario.from_dict(data).network
    ue = np.random.default_rng(4).uniform(-700, 700, (80, 2))
    nets = []
    for per_site in (True, False):
        net = RadioNetwork(net_cfg, [50, 30, 20], TICK_S)
        assert net._site_first_cell is not None
        if not per_site:
            net._site_first_cell = None                    # the general, per-cell path
        net.init_channel(np.random.default_rng(9), ue)
        net.update_channel(ue + 3.0)
        nets.append(net)
    a, b = nets
    assert np.array_equal(a.gain_db, b.gain_db) and np.array_equal(a.los, b.los)
    assert np.array_equal(a.gain_lin, b.gain_lin)


def _sinr_db_uncached(net, serving, load, fading=None):
    """RadioNetwork.sinr_db as written before its cache of the serving links' powers."""
    p = net.tx_per_prb_mw()
    rx = p[:, None] * net.gain_lin
    sig = rx[serving, np.arange(serving.shape[0])]
    interf = (p * load) @ net.gain_lin - sig * load[serving]
    if fading is not None:
        sig = sig * fading
    with np.errstate(divide="ignore"):
        return 10 * np.log10(sig / (np.maximum(interf, 0.0) + net.noise_mw))


def test_sinr_with_cached_serving_powers_equals_uncached():
    sim = Simulation(_scenario_from(REPO / "scenarios" / "perf_300ue.toml",
                                   {"simulation.duration_s": 0.1}))
    net, rng = sim.radio, np.random.default_rng(1)
    ctl = sim.control
    for step in range(12):
        load = rng.uniform(0, 1, sim.C)
        fading = rng.exponential(1.0, sim.U) if step % 3 == 0 else None
        if step == 4:
            ctl.apply(SetCellPower(power_dbm=30.0, cell=3))          # a new power array
        if step == 6:
            from simran.control import SetCellState
            ctl.apply(SetCellState(state="off", cell=5))             # sig = 0: −inf SINR
        if step == 8:
            sim.serving = np.roll(sim.serving, 1)                    # a new serving array
        if step == 10:
            sim.ue_xy += 20.0
            sim.update_channel()                                     # a new channel
        got = net.sinr_db(sim.serving, load, fading)
        assert np.array_equal(got, _sinr_db_uncached(net, sim.serving, load, fading))
        assert np.array_equal(net.sinr_db(sim.serving, load, fading), got)   # from the cache


def _scenario_from(path, over):
    from simran.scenario import Scenario
    return Scenario.from_dict(apply_overrides(read_toml(path), over))


# ------------------------------------------------------------------------------ tick ---------
@pytest.mark.parametrize("mapping", ["nr_mathworks", "lte_fan"])
def test_threshold_cqi_equals_sinr_to_cqi(mapping):
    from simran.radio.link import cqi_thresholds as _cqi_thresholds
    from simran.radio.link import sinr_to_cqi
    from simran.radio.link import threshold_cqi as _threshold_cqi

    thr = _cqi_thresholds(mapping)
    rng = np.random.default_rng(8)
    sinr = np.concatenate([rng.uniform(-15, 35, 500), thr, np.nextafter(thr, -np.inf),
                           [np.nan, -np.inf, np.inf, 0.0, -0.0]])
    got = _threshold_cqi(sinr, thr)
    assert got.dtype == np.int64
    assert np.array_equal(got, sinr_to_cqi(sinr, mapping).astype(np.int64))
    assert _cqi_thresholds("analytic") is None


def test_all_active_shortcut_equals_masked_scheduler():
    """A read-only all-active array lets the scheduler skip the activity masks; the same
    allocations and averages as a writable array it checks every tick (and as a mask with
    inactive UEs, which takes the general path)."""
    rng = np.random.default_rng(11)
    C, S, U = 3, 2, 40
    serving, ue_slice = rng.integers(0, C, U), rng.integers(0, S, U)
    quota, on = np.full((C, S), 45.0), np.array([True, True, False])
    ro = np.ones(U, bool)
    ro.flags.writeable = False
    a = SliceScheduler(C, S, N_PRB, ["pf", "bet"], True, 0.2)
    b = SliceScheduler(C, S, N_PRB, ["pf", "bet"], True, 0.2)
    for tick in range(6):
        bpp = rng.choice([0.0, 500.0, 8025.5], size=U)
        dem = np.where(rng.uniform(size=U) < 0.5, np.inf, rng.uniform(0, 4e4, U))
        active = ro if tick < 4 else rng.uniform(size=U) < 0.8
        got = a.allocate(serving, ue_slice, active, bpp, dem, quota, on, TICK_S)
        want = b.allocate(serving, ue_slice, np.array(active), bpp, dem, quota, on, TICK_S)
        assert np.array_equal(got, want) and np.array_equal(a.avg_bps, b.avg_bps)
    assert a._active_of is None or a._active_of is ro


def test_cbr_demand_without_the_mask_equals_masked_demand():
    from simran.ue.traffic import Traffic

    rng = np.random.default_rng(12)
    fb = rng.uniform(size=30) < 0.4
    cbr = np.where(fb, 0.0, rng.uniform(1e5, 5e6, 30))
    t = Traffic(fb, cbr, TICK_S, buffer_s=0.02)
    buf, dropped = np.zeros(30), np.zeros(30)
    for _ in range(40):
        b = buf + t.arrival_bits                  # the masked formula it replaced
        over = np.maximum(b - t.cap_bits, 0.0, where=~fb, out=np.zeros_like(b))
        dropped += over
        buf = b - over
        want = np.where(fb, np.inf, buf)
        got = t.demand_bits()
        assert np.array_equal(got, want) and np.array_equal(t.dropped_bits, dropped)
        served = np.minimum(rng.uniform(0, 3e4, 30), got)
        t.served(served)
        buf = np.where(fb, 0.0, np.maximum(buf - served, 0.0))


def test_trace_cqi_derived_once_per_change_equals_every_tick():
    """An all-trace network derives CQI, presence and bits per PRB only when the trace's CQI
    changes; every tick still equals the per-tick formulas on the trace's own CQI."""
    data = read_toml(REPO / "scenarios" / "symbiotic_type1.toml")
    data = apply_overrides(data, {"simulation.duration_s": 3.0, "agents": []})
    sim = Simulation(_scenario_from_data(data, REPO / "scenarios"))
    table, seen = sim.cqi_bits_per_prb_tick, []

    def check(_t_us):                                  # every 1 % of the run (30 ms)
        last = sim.last
        tc = sim.trace_ues.cqi_now(last.t_us).copy()
        assert np.array_equal(last.ue_cqi, np.maximum(tc, 0))
        assert np.array_equal(sim.ue_active, tc >= 0)
        assert np.array_equal(last.ue_bits, last.ue_prb * table[np.maximum(tc, 0)])
        seen.append(tc)

    sim.run(progress=check)
    assert len(seen) == 100 and len({int(c[0]) for c in seen}) > 1   # the CQI did change


def _scenario_from_data(data, base_dir):
    from simran.scenario import Scenario
    return Scenario.from_dict(data, base_dir=base_dir)


def _run_outputs(data, reuse):
    sim = Simulation(_scenario_from_data(data, REPO / "scenarios"))
    sim.reuse_ticks = reuse
    sim.run()
    t, cell, sl, ut, ue = sim.collector.trimmed()
    rows = [r.to_dict() for r in sim.decision_log.rows] if sim.decision_log else []
    for r in rows:
        r.pop("wall_s")
    return sim, (t, cell, sl, ut, ue, sim.energy_j, sim.summary(), rows, sim.events_log)


@pytest.mark.parametrize("over", [
    {},                                                                # P-control + tuner
    {"agents": [], "output.kpi_period_ms": 100.0, "output.ue_kpi_period_ms": 50.0},
    {"agents": [], "slices.0.policy": "rr", "output.ue_kpis": False},
])
def test_reused_ticks_equal_recomputed_ticks(over):
    """A tick whose inputs are the previous tick's arrays reuses its allocation and adds its
    sums in one call (kernel and collector fast path); every output — KPI records at every
    period, per-UE records, energy, summary, decisions, events — equals the run that recomputes
    every tick, bit for bit."""
    data = read_toml(REPO / "scenarios" / "symbiotic_type1.toml")
    data = apply_overrides(data, {"simulation.duration_s": 8.0, "agents.1.backend": "scripted",
                                  **over})
    fast, a = _run_outputs(data, True)
    slow, b = _run_outputs(data, False)
    assert fast.collector.n_ticks == slow.collector.n_ticks == 1600

    def same(x, y):
        if isinstance(x, dict):
            assert x.keys() == y.keys()
            for k in x:
                same(x[k], y[k])
        elif isinstance(x, np.ndarray):
            assert x.dtype == y.dtype and np.array_equal(x, y, equal_nan=True)
        elif isinstance(x, list):
            assert len(x) == len(y)
            for p, q in zip(x, y):
                same(p, q)
        else:
            assert x == y or (x != x and y != y)
    for x, y in zip(a, b):
        same(x, y)


def test_reuse_happens_only_where_the_allocation_cannot_differ():
    """The fast path is taken on an all-trace, full-buffer network without block errors, and
    the scheduler then keeps no averages nobody reads; any other network recomputes."""
    data = read_toml(REPO / "scenarios" / "symbiotic_type1.toml")
    data = apply_overrides(data, {"simulation.duration_s": 2.0, "agents": []})
    sim = Simulation(_scenario_from_data(data, REPO / "scenarios"))
    calls = []
    orig = sim.scheduler.allocate
    sim.scheduler.allocate = lambda *a, **k: calls.append(1) or orig(*a, **k)
    sim.run()
    assert sim.scheduler.fixed_groups and sim.scheduler.input_determined()
    assert 1 <= len(calls) <= 10               # once per CQI sample (1 s) and quota change
    assert np.array_equal(sim.scheduler.avg_bps, np.full(sim.U, 1e3))   # never updated
    for over in ({"network.link.bler": True}, {"ue_groups.0.traffic": "cbr",
                                                "ue_groups.0.cbr_mbps": 5.0}):
        d = apply_overrides(data, over)
        sim = Simulation(_scenario_from_data(d, REPO / "scenarios"))
        seen = []
        orig = sim.scheduler.allocate
        sim.scheduler.allocate = lambda *a, _o=orig, _c=seen, **k: _c.append(1) or _o(*a, **k)
        sim.run()
        assert len(seen) == 400, over


def test_record_block_stack_equals_np_stack():
    """A block of per-tick records is built from runs of one repeated array; it equals
    ``np.stack`` of the arrays, whatever the runs (one object, few runs, all distinct)."""
    from simran.output.collectors import _stack

    rng = np.random.default_rng(21)
    pool = [rng.random((2, 3)) for _ in range(12)] + [rng.random((2, 3)) > 0.5]
    for trial in range(200):
        k = int(rng.integers(1, 300))
        n_obj = int(rng.integers(1, 12))
        idx = (np.sort(rng.integers(0, n_obj, k)) if trial % 2 else rng.integers(0, n_obj, k))
        col = [pool[i] for i in idx]
        got, want = _stack(col), np.stack(col)
        assert got.dtype == want.dtype and np.array_equal(got, want)
    flags = [pool[-1]] * 5
    assert _stack(flags).dtype == bool and np.array_equal(_stack(flags), np.stack(flags))


def test_small_quota_budgets_equal_the_vectorised_formula():
    """PRB budgets of a quota array of ≤ 4 entries come from Python floats; they equal the
    vectorised floor(q/100 · N_PRB + 1e-9) bit for bit, on edges (50 % of 106 = 53, 0, 100, one
    PRB) and random quotas, with cells off."""
    from simran.mac import scheduler as sch

    rng = np.random.default_rng(5)
    edges = [0.0, 100.0, 50.0, 100.0 / 106, 100.0 / 106 * 37, 33.333333333333336, 1e-12]
    for n_prb in (11, 24, 51, 106, 133, 273):
        for trial in range(300):
            shape = [(1, 1), (1, 2), (2, 2), (1, 4), (4, 1)][trial % 5]
            q = rng.choice(edges + list(rng.uniform(0, 100, 8)), size=shape)
            on = rng.uniform(size=shape[0]) < 0.8
            got = sch.slice_budgets(q, n_prb, on)
            want = np.where(on[:, None], np.floor(q / 100.0 * n_prb + 1e-9), 0.0)
            assert got.shape == want.shape and got.dtype == want.dtype
            assert np.array_equal(got, want) and not np.signbit(got).any()
    big = rng.uniform(0, 100, (3, 2))            # above the threshold: the ufunc path
    assert np.array_equal(sch.slice_budgets(big, 106, np.ones(3, bool)),
                          np.floor(big / 100.0 * 106 + 1e-9))


def test_a_policy_that_keeps_state_is_never_reused(monkeypatch, tmp_path):
    """A policy whose ``allocate`` keeps state between ticks (here a pointer handing the whole
    budget to one UE after another) declares ``keeps_state``; an all-trace network with two UEs
    in its slice then calls it every tick, and the run equals the one recomputing every tick."""
    from simran.mac import policies
    from simran.mac.policies import SchedulingPolicy, register_policy
    from simran.traces.trace import Trace
    from simran.traces.trace_set import write_trace_set

    monkeypatch.setattr(policies, "_REGISTRY", dict(policies._REGISTRY))

    @register_policy("_test_rotating")
    class Rotating(SchedulingPolicy):
        description = "whole budget to one UE after another"
        keeps_state = True

        def __init__(self):
            self.turn = 0

        def allocate(self, group, n_groups, budget, rate_bps, need, avg_bps, beta):
            idx = np.flatnonzero(group >= 0)
            out = np.zeros(group.shape)
            if idx.size:
                u = idx[self.turn % idx.size]
                out[u] = min(budget[group[u]], need[u])
                self.turn += 1
            return out

    traces = [Trace(f"v{i}", np.arange(5, dtype=float), np.full(5, 9 + i)) for i in range(2)]
    f = write_trace_set(tmp_path / "t.h5", traces, {"licence": "MIT"})
    data = {"name": "t", "simulation": {"duration_s": 0.5, "tick_ms": 5.0, "seed": 1},
            "network": {"layout": "hex", "rings": 0, "sectors": 1},
            "slices": [{"name": "v", "quota_pct": 100, "policy": "_test_rotating"}],
            "ue_groups": [{"name": "veh", "slice": "v", "mobility": "trace",
                           "traffic": "full_buffer", "trace": {"file": str(f), "cell": 0}}],
            "output": {"kpi_period_ms": 5.0, "ue_kpis": True, "ue_kpi_period_ms": 5.0}}
    runs = []
    for reuse in (True, False):
        sim = Simulation(_scenario_from_data(data, tmp_path))
        sim.reuse_ticks = reuse
        calls = []
        orig = sim.scheduler.allocate
        sim.scheduler.allocate = lambda *a, _o=orig, _c=calls, **k: _c.append(1) or _o(*a, **k)
        sim.run()
        assert len(calls) == 100 and not sim.scheduler.input_determined()
        runs.append(sim.collector.trimmed()[4]["throughput_mbps"])
    assert np.array_equal(runs[0], runs[1])
    assert (runs[0][::2, 0] > 0).all() and (runs[0][::2, 1] == 0).all()   # it did rotate
