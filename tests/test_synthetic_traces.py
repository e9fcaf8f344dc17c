"""The synthetic trace generator (simran.traces.synthetic) and datasets/synthetic_78.h5."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from simran.cli.main import main
from simran.errors import SimranError
from simran.radio import link
from simran.scenario import load_scenario
from simran.traces.synthetic import (
    DEFAULT_SCENARIO,
    HOLE_X_M,
    SPEED_KMH,
    calibration,
    generate,
    in_hole,
)
from simran.traces.trace import OPTIONAL_FIELDS
from simran.traces.trace_set import TraceSet

REPO = Path(__file__).resolve().parent.parent
SHIPPED = REPO / "datasets" / "synthetic_78.h5"
FIELDS = ["t_s", "cqi", "sinr_db", "rsrp_dbm", "serving_cell", "x_m", "y_m", "speed_mps"]


def _arrays(traces) -> dict:
    return {(t.id, f): np.asarray(getattr(t, f)) for t in traces for f in FIELDS}


@pytest.fixture(scope="module")
def small():
    """3 vehicles, 60 s, seed 5 — generated once for the tests below."""
    return generate(vehicles=3, duration_s=60.0, seed=5)


def test_same_seed_same_arrays(small):
    traces, info = small
    again, info2 = generate(vehicles=3, duration_s=60.0, seed=5)
    a, b = _arrays(traces), _arrays(again)
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=str(key))
    np.testing.assert_equal(info, info2)             # (NaN figures: no sample outside the hole)


def test_other_seed_differs(small):
    traces, _ = small
    other, _ = generate(vehicles=3, duration_s=60.0, seed=6)
    for f in ("cqi", "sinr_db", "speed_mps", "x_m"):
        assert not all(np.array_equal(getattr(t, f), getattr(o, f))
                       for t, o in zip(traces, other)), f


def test_vehicle_does_not_depend_on_fleet_size(small):
    # every vehicle draws from its own stream and the interference weighting is fixed, so
    # vehicle 1 of a 1-vehicle set is vehicle 1 of a 3-vehicle set
    one, _ = generate(vehicles=1, duration_s=60.0, seed=5)
    a, b = _arrays(one), _arrays(small[0][:1])
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=str(key))


def test_trace_content(small):
    traces, info = small
    assert [t.id for t in traces] == ["veh_01", "veh_02", "veh_03"]
    for t in traces:
        assert t.n_samples == 60 and t.period_s == 1.0
        assert set(t.fields()) == {"speed_mps", "x_m", "y_m", "sinr_db", "rsrp_dbm",
                                   "serving_cell"}
        v = t.attrs["speed_mps"]
        assert SPEED_KMH[0] / 3.6 <= v <= SPEED_KMH[1] / 3.6
        # straight constant-speed drive: x steps by ±v every second, the lane is fixed
        np.testing.assert_allclose(np.abs(np.diff(t.x_m)), v, rtol=1e-9)
        assert np.ptp(t.y_m) == 0 and abs(t.y_m[0]) in (1.75, 5.25)
        # the CQI is the scenario's SINR→CQI mapping of the stored (0.1 dB) SINR
        stored = t.sinr_db.astype(np.float32).astype(np.float64)
        np.testing.assert_array_equal(t.cqi, link.sinr_to_cqi(stored, "nr_mathworks"))
        assert (t.serving_cell >= 0).all() and (t.serving_cell < 132).all()
    assert traces[0].attrs["direction"] == "eastbound"
    assert traces[1].attrs["direction"] == "westbound"
    assert info["handovers"] > 0


def test_bad_parameters():
    for kwargs, word in (({"vehicles": 0}, "vehicles"), ({"period_s": 0.0}, "period_s"),
                         ({"duration_s": 0.5}, "duration_s"), ({"seed": -1}, "seed"),
                         ({"interference_load": 2.0}, "interference_load")):
        with pytest.raises(SimranError, match=word):
            generate(**kwargs)


def test_network_has_the_hole():
    scen = load_scenario(DEFAULT_SCENARIO)
    xy = np.array([[s.x_m, s.y_m] for s in scen.network.sites])
    inside = (xy[:, 0] >= HOLE_X_M[0]) & (xy[:, 0] <= HOLE_X_M[1])
    # no roadside site in the hole: only the row set back 550 m from the road covers it
    assert inside.sum() == 4 and (np.abs(xy[inside, 1]) == 550).all()
    assert (np.abs(xy[~inside, 1]) == 40).all() and len(xy) == 44
    assert (scen.network.cqi_table, scen.network.mcs_table) == ("table1", "qam64")


def test_calibration_oracle():
    # CQI 15 → MCS 28 (5.5547 bit/RE): 106 · 12·14·2000 · 5.5547 · 0.86 = 170.139 Mbit/s;
    # CQI 8 → MCS 13 (4, 490 → 1.9141): 106 · 336000 · 1.9141 · 0.86 = 58.628 Mbit/s
    from simran.traces.trace import Trace

    t = Trace("a", np.arange(4.0), [15, 15, 8, 8], x_m=np.array([-5000.0, 5000.0, 0.0, 10.0]))
    c = calibration([t])
    assert c["mcs_mean_outside"] == 28 and c["mcs_mean_hole"] == 13 and c["hole_share"] == 0.5
    assert c["rate_mbps_outside"] == pytest.approx(170.139127872, rel=1e-9)
    assert c["rate_mbps_hole"] == pytest.approx(106 * 336000 * 1.9141 * 0.86 / 1e6, rel=1e-9)
    assert in_hole([-1500.0, 1500.0, 1500.1]).tolist() == [True, True, False]


@pytest.mark.slow
def test_fresh_set_has_the_hole():
    # another seed than the shipped one, 4 vehicles over the full 600 s
    traces, info = generate(vehicles=4, duration_s=600.0, seed=1)
    c = info["calibration"]
    assert c["mcs_mean_hole"] <= 16.0 and c["mcs_mean_outside"] >= 24.0, c
    assert 0.15 < c["hole_share"] < 0.4


# ------------------------------------------------------------------------------------------
# the shipped set
# ------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def shipped():
    if not SHIPPED.exists():
        pytest.skip("datasets/synthetic_78.h5 not built")
    return TraceSet.open(SHIPPED)


def test_shipped_set(shipped):
    assert len(shipped) == 78 and shipped.ids[0] == "veh_01" and shipped.ids[-1] == "veh_78"
    assert shipped.attrs["licence"] == "MIT"
    assert shipped.attrs["created_by"] == ("simran traces synth --out datasets/synthetic_78.h5 "
                                           "--seed 78")
    assert shipped.attrs["parameters"]["seed"] == 78
    assert SHIPPED.stat().st_size < 2_000_000
    for t in shipped:
        assert t.n_samples == 600 and t.period_s == 1.0
    assert set(OPTIONAL_FIELDS) >= set(shipped.get("veh_01").fields())


def test_shipped_set_has_the_hole(shipped):
    # figures of the shipped file (datasets/README.md): mean MCS 15.2 in the hole, 25.2 outside;
    # one full-buffer UE with all 106 PRB: 78.0 vs 148.0 Mbit/s
    c = calibration(list(shipped))
    assert c["mcs_mean_hole"] <= 16.0 and c["mcs_mean_outside"] >= 24.0
    assert c["mcs_mean_hole"] == pytest.approx(15.2, abs=0.05)
    assert c["mcs_mean_outside"] == pytest.approx(25.2, abs=0.05)
    assert c["rate_mbps_hole"] == pytest.approx(78.0, abs=0.05)
    assert c["rate_mbps_outside"] == pytest.approx(148.0, abs=0.05)
    assert shipped.attrs["calibration_mcs_mean_hole"] == pytest.approx(c["mcs_mean_hole"])
    # the hole is in the middle of every trace: samples 200..400 mostly in it, the first and
    # last 100 s never (at 50 km/h and ±60 s jitter the hole starts ≥ 1.9 km away)
    mid = np.concatenate([in_hole(t.x_m[200:400]) for t in shipped])
    ends = np.concatenate([in_hole(np.r_[t.x_m[:100], t.x_m[500:]]) for t in shipped])
    assert mid.mean() > 0.6 and ends.mean() == 0


@pytest.mark.slow
def test_shipped_set_is_reproducible(shipped):
    # vehicle 1 does not depend on the fleet size: regenerate it alone and compare (float32 =
    # the file's storage type for the float fields)
    (t,), _ = generate(vehicles=1, duration_s=600.0, seed=78)
    ref = shipped.get("veh_01")
    for f in FIELDS:
        a, b = np.asarray(getattr(t, f)), np.asarray(getattr(ref, f))
        if f in ("sinr_db", "rsrp_dbm", "x_m", "y_m", "speed_mps"):
            a, b = a.astype(np.float32), b.astype(np.float32)
        np.testing.assert_array_equal(a, b, err_msg=f)


# ------------------------------------------------------------------------------------------
# CLI
# ------------------------------------------------------------------------------------------

def test_cli_synth_and_plot_dist(tmp_path, capsys):
    out = tmp_path / "s.h5"
    assert main(["traces", "synth", "--out", str(out), "--vehicles", "2", "--duration-s", "20",
                 "--seed", "3"]) == 0
    text = capsys.readouterr().out
    assert "wrote" in text and "2 trace(s)" in text and "mean MCS in the hole" in text
    ts = TraceSet.open(out)
    assert ts.ids == ["veh_01", "veh_02"] and ts.attrs["licence"] == "MIT"
    assert ts.attrs["created_by"] == (f"simran traces synth --out {out} --vehicles 2 "
                                      "--duration-s 20 --seed 3")
    png = tmp_path / "dist.png"
    assert main(["traces", "plot-dist", str(out), str(out), "--out", str(png)]) == 0
    assert png.stat().st_size > 5_000


def test_cli_synth_errors(tmp_path, capsys):
    assert main(["traces", "synth", "--out", str(tmp_path / "s.h5"), "--vehicles", "0"]) == 2
    assert "vehicles must be ≥ 1" in capsys.readouterr().err
    assert main(["traces", "plot-dist", str(tmp_path / "none.h5"), "--out",
                 str(tmp_path / "x.png")]) == 2
    assert "none.h5: no such trace-set file" in capsys.readouterr().err
