"""Trace-driven UEs (``mobility = "trace"``) inside runs, and ``simran replay``.

Oracles are derived from the 3GPP tables by hand (in comments), not from simran.radio.link.
"""

from __future__ import annotations

from pathlib import Path

import h5py
import numpy as np
import pytest

from simran.cli.main import main
from simran.errors import ScenarioError
from simran.output.results import load_results
from simran.scenario import Scenario
from simran.simulation import Simulation, run_scenario
from simran.traces.replay import DEFAULT_BASE, replay_scenario
from simran.traces.trace import Trace
from simran.traces.trace_set import write_trace_set

# Bits of one PRB per second at 30 kHz SCS (μ = 1), one layer, OH = 0.14 (TS 38.306 §4.1.2 form,
# radio-reference C.6): 12 subcarriers · 14 symbols · 2^μ·1000 slots/s · SE · (1 − 0.14).
# A 40 MHz carrier at 30 kHz has N_PRB = 106 (TS 38.101-1 Table 5.3.2-1).
RE_PER_S_PER_PRB = 12 * 14 * 2 * 1000
N_PRB = 106

# CQI (table 1, TS 38.214 Table 5.2.2.1-2) → MCS (qam64, Table 5.1.3.1-1) by the OAI rule (lowest
# MCS with the CQI's Q_m and R ≥ the CQI's R; radio-reference C.3) → SE = Q_m·R/1024 as the table
# prints it (4 decimals):
#   CQI 15 (64QAM, 948) → MCS 28 (6, 948): SE 5.5547
#   CQI 14 (64QAM, 873) → MCS 26 (6, 873): SE 5.1152
#   CQI  9 (16QAM, 616) → MCS 15 (4, 616): SE 2.4063
#   CQI  4 (QPSK, 308)  → MCS  4 (2, 308): SE 0.6016
#   CQI  1 (QPSK, 78)   → MCS  0 (2, 120): SE 0.2344  (lowest QPSK MCS with R ≥ 78)
SE_OF_CQI = {15: 5.5547, 14: 5.1152, 9: 2.4063, 4: 0.6016, 1: 0.2344}


F32 = 1e-6
"""Relative tolerance of values read from the float32 KPI tables of a results file."""


def full_cell_mbps(cqi: int) -> float:
    """Rate of one full-buffer UE with all 106 PRB, Mbit/s: e.g. CQI 15 → 170.139 Mbit/s."""
    return N_PRB * RE_PER_S_PER_PRB * SE_OF_CQI[cqi] * (1 - 0.14) / 1e6


def test_oracle_value():
    # 106 · 336000 · 5.5547 · 0.86 = 170 139 127.872 bit/s
    assert full_cell_mbps(15) == pytest.approx(170.139127872, rel=1e-12)


def _set(tmp_path, traces, name="set.h5") -> Path:
    return write_trace_set(tmp_path / name, traces, {"licence": "MIT"})


def _const(tid: str, cqi: int, n: int = 5) -> Trace:
    return Trace(tid, np.arange(n, dtype=float), np.full(n, cqi))


def _scen(file: Path, *, ids=None, first=None, end="stop", sampling="hold", cell=0,
          offset_s=0.0, duration_s=1.0, network=None, extra_groups=(), kpi_ms=100.0
          ) -> Scenario:
    trace = {"file": str(file), "end": end, "sampling": sampling, "cell": cell,
             "offset_s": offset_s}
    if ids is not None:
        trace["ids"] = list(ids)
    if first is not None:
        trace["first"] = first
    net = {"layout": "hex", "rings": 0, "sectors": 1, "bandwidth_mhz": 40, "scs_khz": 30,
           **(network or {})}
    return Scenario.from_dict({
        "name": "t", "simulation": {"duration_s": duration_s, "tick_ms": 5.0, "seed": 3},
        "network": net, "slices": [{"name": "v", "quota_pct": 100, "policy": "pf"}],
        "ue_groups": [{"name": "veh", "slice": "v", "mobility": "trace",
                       "traffic": "full_buffer", "trace": trace}, *extra_groups],
        "output": {"kpi_period_ms": kpi_ms, "ue_kpis": True}})


def _ue(path, ue=0):
    r = load_results(path)
    d = r.ue[r.ue["ue"] == ue].sort_values("t_s").reset_index(drop=True)
    d["k"] = np.rint(d["t_s"] / 0.1).astype(int) - 1       # period k covers [0.1k, 0.1k + 0.1)
    return d


# ------------------------------------------------------------------------------------------
# exact rates
# ------------------------------------------------------------------------------------------

@pytest.mark.parametrize("cqi", sorted(SE_OF_CQI))
def test_constant_cqi_gives_table_rate(tmp_path, cqi):
    f = _set(tmp_path, [_const("c", cqi)])
    res = run_scenario(_scen(f, duration_s=1.0), tmp_path / "r.h5")
    d = _ue(tmp_path / "r.h5")
    expected = full_cell_mbps(cqi)
    # the summary is float64: exact to 1e-9; the KPI tables are stored as float32
    assert res.summary["throughput_mbps_mean"] == pytest.approx(expected, rel=1e-9)
    assert res.summary["ue_throughput_mbps_mean"] == pytest.approx(expected, rel=1e-9)
    assert len(d) == 10
    np.testing.assert_allclose(d["throughput_mbps"], expected, rtol=F32)
    assert (d["cqi"] == cqi).all() and (d["prb"] == N_PRB).all()
    assert np.isnan(d["sinr_db"]).all()                    # a trace UE has no geometric SINR


def test_cqi_zero_gets_nothing(tmp_path):
    f = _set(tmp_path, [_const("z", 0)])
    run_scenario(_scen(f, duration_s=0.5), tmp_path / "r.h5")
    d = _ue(tmp_path / "r.h5")
    assert (d["throughput_mbps"] == 0).all() and (d["mcs"] == -1).all()


# ------------------------------------------------------------------------------------------
# sampling and end of trace inside a run
# ------------------------------------------------------------------------------------------

def _ramp(tmp_path) -> Path:
    # two samples 1 s apart, CQI 4 then 14: covers [0, 2) s
    return _set(tmp_path, [Trace("ramp", [0.0, 1.0], [4, 14])])


@pytest.mark.parametrize("end", ["stop", "loop", "hold"])
def test_hold_and_end_modes(tmp_path, end):
    res = run_scenario(_scen(_ramp(tmp_path), end=end, duration_s=3.0), tmp_path / "r.h5")
    d = _ue(tmp_path / "r.h5")
    r4, r14 = full_cell_mbps(4), full_cell_mbps(14)
    third = {"stop": r4 + r14 + 0.0, "loop": r4 + r14 + r4, "hold": r4 + r14 + r14}[end] / 3
    assert res.summary["throughput_mbps_mean"] == pytest.approx(third, rel=1e-9)
    first, second, after = d[d.k < 10], d[(d.k >= 10) & (d.k < 20)], d[d.k >= 20]
    assert (first["cqi"] == 4).all() and (second["cqi"] == 14).all()
    np.testing.assert_allclose(first["throughput_mbps"], r4, rtol=F32)
    np.testing.assert_allclose(second["throughput_mbps"], r14, rtol=F32)
    assert len(after) == 10
    if end == "stop":            # the trace ended at 2 s: the UE leaves — no demand, no PRB
        assert (after["active"] == 0).all()
        assert (after["throughput_mbps"] == 0).all() and (after["prb"] == 0).all()
    elif end == "loop":          # [2, 3) s replays [0, 1) s
        assert (after["cqi"] == 4).all() and (after["active"] == 1).all()
        np.testing.assert_allclose(after["throughput_mbps"], r4, rtol=F32)
    else:                        # the last sample's CQI is kept
        assert (after["cqi"] == 14).all() and (after["active"] == 1).all()
        np.testing.assert_allclose(after["throughput_mbps"], r14, rtol=F32)


def test_interpolate_inside_a_run(tmp_path):
    # CQI(t) = 4 + 10·t on [0, 1) s, rounded half up, on the 5 ms tick grid: in the KPI period
    # [0.1k, 0.1k + 0.1) the 10 ticks before 0.1k + 0.05 give 4 + k, the 10 from there 5 + k,
    # so the period mean is k + 4.5. During the last sample's period [1, 2) s the value is held
    # (14); after it the UE stops.
    run_scenario(_scen(_ramp(tmp_path), sampling="interpolate", duration_s=2.5),
                 tmp_path / "r.h5")
    d = _ue(tmp_path / "r.h5")
    ramp = d[d.k < 10]
    np.testing.assert_allclose(ramp["cqi"], ramp["k"] + 4.5)
    assert (d[(d.k >= 10) & (d.k < 20)]["cqi"] == 14).all()
    assert (d[d.k >= 20]["active"] == 0).all()


def test_offset_starts_inside_the_trace(tmp_path):
    f = _set(tmp_path, [Trace("o", [0.0, 1.0, 2.0], [1, 9, 15])])
    run_scenario(_scen(f, offset_s=1.0, duration_s=1.0), tmp_path / "r.h5")
    assert (_ue(tmp_path / "r.h5")["cqi"] == 9).all()


# ------------------------------------------------------------------------------------------
# trace UEs and geometric UEs together
# ------------------------------------------------------------------------------------------

def test_trace_and_geometric_ues_in_one_scenario(tmp_path):
    f = _set(tmp_path, [_const("a", 15, 3), _const("b", 9, 3)])
    static = {"name": "peds", "count": 4, "slice": "v", "mobility": "static",
              "traffic": "full_buffer"}
    sc = _scen(f, first=2, cell=2, duration_s=1.0, extra_groups=[static],
               network={"sectors": 3})
    sim = Simulation(sc)
    assert sim.U == 6 and sim.C == 3
    assert sim.ue_is_trace.tolist() == [True, True, False, False, False, False]
    run_scenario(sc, tmp_path / "r.h5")
    r = load_results(tmp_path / "r.h5")
    ue = r.ue
    tr, geo = ue[ue["ue"] < 2], ue[ue["ue"] >= 2]
    assert (tr["cell"] == 2).all()                            # pinned to trace.cell
    assert np.isnan(tr["sinr_db"]).all() and np.isfinite(geo["sinr_db"]).all()
    assert set(tr[tr["ue"] == 0]["cqi"]) == {15} and set(tr[tr["ue"] == 1]["cqi"]) == {9}
    assert (ue.groupby("ue")["throughput_mbps"].mean() > 0).all()
    # conservation: a cell never hands out more than its 106 PRB
    assert (ue.groupby(["t_s", "cell"])["prb"].sum() <= N_PRB + 1e-9).all()
    assert not (r.events["kind"].str.startswith("handover") & (r.events["ue"] < 2)).any()


# ------------------------------------------------------------------------------------------
# reproducibility
# ------------------------------------------------------------------------------------------

def _datasets(path: Path) -> dict:
    out = {}
    with h5py.File(path, "r") as f:
        def visit(name, obj):
            if isinstance(obj, h5py.Dataset):
                out[name] = obj[()]
        f.visititems(visit)
        out["summary"] = dict(f["summary"].attrs)
    return out


def test_replay_twice_is_identical(tmp_path):
    f = _set(tmp_path, [Trace("r", np.arange(6.0), [15, 3, 9, 12, 0, 7]),
                        Trace("s", np.arange(4.0), [5, 6, 7, 8])])
    paths = []
    for k in range(2):
        sc = replay_scenario(DEFAULT_BASE, f, ["r", "s"], duration_s=2.0)
        paths.append(run_scenario(sc, tmp_path / f"r{k}.h5").results_path)
    a, b = _datasets(paths[0]), _datasets(paths[1])
    assert a.keys() == b.keys() and "kpi/ue/throughput_mbps" in a and "kpi/cell/cell" in a
    assert a.pop("summary") == b.pop("summary")
    for name in a:                                  # NaNs (trace UEs' SINR) compare equal
        np.testing.assert_array_equal(np.asarray(a[name]), np.asarray(b[name]), err_msg=name)


# ------------------------------------------------------------------------------------------
# simran replay
# ------------------------------------------------------------------------------------------

@pytest.fixture
def three(tmp_path):
    return _set(tmp_path, [_const("t1", 15, 3), _const("t2", 9, 3), _const("t3", 4, 3)],
                name="three.h5")


def test_cli_replay_trace(tmp_path, three, capsys):
    out = tmp_path / "one"
    assert main(["replay", str(three), "--trace", "t2", "--duration-s", "0.5",
                 "--out", str(out)]) == 0
    assert capsys.readouterr().out.startswith("t2: ")
    r = load_results(out / "results.h5")
    assert r.summary["throughput_mbps_mean"] == pytest.approx(full_cell_mbps(9), rel=1e-9)
    assert r.scenario["ue_groups"][0]["trace"]["ids"] == ["t2"]
    assert r.scenario["simulation"]["duration_s"] == 0.5
    # an existing result is refused unless --force (exit 2, as simran run; issue 16)
    assert main(["replay", str(three), "--trace", "t2", "--duration-s", "0.5",
                 "--out", str(out)]) == 2
    assert "exist(s) (use --force to overwrite)" in capsys.readouterr().err
    assert main(["replay", str(three), "--trace", "t2", "--duration-s", "0.5",
                 "--out", str(out), "--force"]) == 0
    assert "replay: 1 run, 0.5 simulated s" in capsys.readouterr().err


def test_cli_replay_first_and_all(tmp_path, three):
    assert main(["replay", str(three), "--first", "2", "--duration-s", "0.2",
                 "--out", str(tmp_path / "f")]) == 0
    assert sorted(p.name for p in (tmp_path / "f").iterdir()) == ["t1", "t2"]
    assert main(["replay", str(three), "--all", "--duration-s", "0.2",
                 "--out", str(tmp_path / "a")]) == 0
    rates = {t: load_results(tmp_path / "a" / t).summary["throughput_mbps_mean"]
             for t in ("t1", "t2", "t3")}
    assert rates == pytest.approx({"t1": full_cell_mbps(15), "t2": full_cell_mbps(9),
                                   "t3": full_cell_mbps(4)}, rel=1e-9)


def test_cli_replay_together_default_duration_and_plot(tmp_path, three):
    out = tmp_path / "tog"
    assert main(["replay", str(three), "--all", "--together", "--out", str(out)]) == 0
    r = load_results(out / "results.h5")
    assert r.summary["n_ues"] == 3 and r.scenario["simulation"]["duration_s"] == 3.0
    from simran.traces.plots import plot_replay

    png = plot_replay(out, tmp_path / "replay.png")
    assert png.stat().st_size > 10_000


def test_cli_replay_errors(tmp_path, three, capsys):
    assert main(["replay", str(three), "--trace", "nope", "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert "three.h5" in err and "unknown trace id 'nope'" in err
    assert main(["replay", str(tmp_path / "none.h5"), "--all", "--out", str(tmp_path / "x")]) == 2
    assert "none.h5: no such trace-set file" in capsys.readouterr().err
    assert main(["replay", str(three), "--out", str(tmp_path / "x")]) == 2
    assert "--trace ID" in capsys.readouterr().err


# ------------------------------------------------------------------------------------------
# bad scenarios name the field
# ------------------------------------------------------------------------------------------

def _problems(sc) -> list[tuple[str, str]]:
    with pytest.raises(ScenarioError) as info:
        Simulation(sc)
    return info.value.problems


def test_unknown_trace_id_names_field(tmp_path, three):
    (field, reason), = _problems(_scen(three, ids=["t1", "zz"]))
    assert field == "ue_groups[veh].trace.ids"
    assert "three.h5" in reason and "unknown trace id 'zz'" in reason


def test_first_out_of_range_names_field(tmp_path, three):
    (field, reason), = _problems(_scen(three, first=7))
    assert field == "ue_groups[veh].trace.first" and "first=7 outside 1..3" in reason


def test_missing_trace_file_names_field(tmp_path):
    (field, reason), = _problems(_scen(tmp_path / "gone.h5"))
    assert field == "ue_groups[veh].trace.file" and "gone.h5" in reason and "not found" in reason


def test_not_a_trace_file_names_field(tmp_path):
    bad = tmp_path / "bad.h5"
    bad.write_text("not hdf5")
    (field, reason), = _problems(_scen(bad))
    assert field == "ue_groups[veh].trace.file" and "bad.h5" in reason


def test_trace_cell_out_of_range_names_field(tmp_path, three):
    (field, reason), = _problems(_scen(three, cell=5))
    assert field == "ue_groups[veh].trace.cell"
    assert "cell 5 does not exist" in reason and "1 cells" in reason


def test_bad_trace_scenario_via_cli(tmp_path, three, capsys):
    scen = tmp_path / "s.toml"
    scen.write_text(DEFAULT_BASE.read_text().replace(
        "../datasets/ucc5g_driving.h5", str(three)).replace("cell = 0", "cell = 3"))
    assert main(["run", str(scen), "--out", str(tmp_path / "r"), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "ue_groups[vehicles].trace.cell" in err and "cell 3 does not exist" in err


# ------------------------------------------------------------------------------------------
# the trace-replay sweep
# ------------------------------------------------------------------------------------------

def test_replay_traces_sweep_file():
    from simran.campaigns.sweep import load_sweep

    root = Path(__file__).resolve().parent.parent
    if not (root / "datasets" / "synthetic_78.h5").exists():
        pytest.skip("datasets/synthetic_78.h5 not built")
    sweep = load_sweep(root / "scenarios" / "sweeps" / "replay_traces.toml")
    assert sweep.axes == ["ue_groups.0.trace.ids"]         # the ue_groups list in [set] is not
    specs = sweep.plan()                                   # an axis
    assert len(specs) == 78 and len({s.run_id for s in specs}) == 78
    for i, spec in enumerate(specs, start=1):
        trace = spec.scenario.ue_groups[0].trace
        assert trace.ids == [f"veh_{i:02d}"] and trace.first is None and trace.end == "stop"
        assert spec.scenario.simulation.duration_s == 2.0
    res = run_scenario(specs[0].scenario)
    assert res.summary["n_ues"] == 1 and res.summary["throughput_mbps_mean"] > 0


def test_cli_replay_cap_refuses_before_running(tmp_path, three, capsys):
    # three traces of 3 s each, one run per trace: 9 simulated s in total
    out = tmp_path / "capped"
    assert main(["replay", str(three), "--all", "--out", str(out), "--max-sim-s", "8"]) == 2
    err = capsys.readouterr().err
    assert "replay: 3 runs, 9 simulated s in total (longest 3 s)" in err
    assert "more than --max-sim-s 8" in err and not out.exists()


@pytest.mark.parametrize("sampling,end", [("hold", "stop"), ("interpolate", "loop"),
                                          ("hold", "hold")])
def test_cqi_span_holds_exactly_until_the_next_change(tmp_path, sampling, end):
    """``cqi_span(t)`` says until when the CQIs stay those of t: every tick before that time
    has them (``cqi_now``), and the tick at that time differs or starts a new block."""
    from simran.ue.trace import BLOCK_TICKS

    rng = np.random.default_rng(4)
    traces = [Trace(f"v{i}", np.arange(12, dtype=float), rng.integers(0, 16, 12).astype(float))
              for i in range(3)]
    sim = Simulation(_scen(_set(tmp_path, traces), sampling=sampling, end=end,
                           duration_s=30.0))
    tu, tick = sim.trace_ues, sim.tick_us
    spans, t = 0, 0
    while t < 3 * BLOCK_TICKS * tick:
        col, until = tu.cqi_span(t)
        col = col.copy()
        assert until > t
        for u in range(t, until, tick):
            assert np.array_equal(tu.cqi_now(u), col)
        if (until // tick) % BLOCK_TICKS:
            assert not np.array_equal(tu.cqi_now(until), col)
        t, spans = until, spans + 1
    assert spans > 3 * 12 / 10
