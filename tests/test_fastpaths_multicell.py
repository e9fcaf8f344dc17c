"""The multi-cell kernel's fast paths compute what the plain formulas compute, bit for bit.

Issue 18 (``perf_300ue``: 30 cells × 300 moving UEs, PF slices). Each shortcut is compared with
``np.array_equal`` (and the sign of zeros where it matters) against the plain computation it
replaces, written out here as it was, on random inputs that reach the shortcut and its edges:

* ``wrap_deg`` without ``np.mod`` for angles within a turn;
* ``angles`` with the co-sited cells computed once per network;
* correlated fields with the phases kept broadcast;
* the UMa LOS probability without the height term for UEs ≤ 13 m; the path loss with one
  ``log10(d_3D)``;
* the RSRP kept between channel updates; the L3 filter and A3 evaluation without masks when
  every value is finite, every cell on and every UE eligible;
* water-filling with the remaining budget and need left carried between rounds.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from simran.mac.fill import water_fill
from simran.radio import antenna, channel
from simran.radio.handover import A3Handover
from simran.scenario import load_scenario
from simran.simulation import Simulation

REPO = Path(__file__).resolve().parent.parent
_EPS = 1e-9


def same(a, b) -> bool:
    """Equal values, and equal signs of zero (−0.0 vs +0.0 would differ in a results file)."""
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype.kind != "f" or b.dtype.kind != "f":
        return a.dtype == b.dtype and np.array_equal(a, b)
    return (a.shape == b.shape and np.array_equal(a, b, equal_nan=True)
            and np.array_equal(np.signbit(a), np.signbit(b)))


# ------------------------------------------------------------------------------ antenna ------
def test_wrap_deg_equals_mod_within_and_beyond_a_turn():
    rng = np.random.default_rng(1)
    edges = np.array([-0.0, 0.0, -180.0, 180.0, -540.0, 180 - 1e-13, -180 - 1e-13, -180 + 1e-13,
                      -360 - 1e-13, -360 + 1e-13, -1e-300, -5e-324, 179.99999999999997,
                      -539.9999999999999, 539.99, -179.99999999999997])
    for lo, hi in ((-540, 180), (-180, 180), (-900, 900), (0, 1e6)):
        for _ in range(50):
            x = np.concatenate([rng.uniform(lo, hi, 5000), edges])
            rng.shuffle(x)
            want = np.mod(x + 180.0, 360.0) - 180.0
            assert same(antenna.wrap_deg(x), want)
            assert same(antenna.wrap_deg(x.reshape(-1, 2)), want.reshape(-1, 2))
    for v in (190.0, -190.0, 720.0, -0.0, np.nan):     # scalars and short arrays: np.mod
        assert same(antenna.wrap_deg(v), np.mod(v + 180.0, 360.0) - 180.0)
    x = np.array([1.0, np.nan] + [5.0] * 20)
    assert same(antenna.wrap_deg(x), np.mod(x + 180.0, 360.0) - 180.0)


def test_angles_with_co_sited_cells_given_equal_angles_computing_them():
    rng = np.random.default_rng(2)
    sites = rng.uniform(-800, 800, (7, 2))
    cell_xy = np.repeat(sites, 3, axis=0)
    az = np.tile([30.0, 150.0, 270.0], 7)
    co = antenna.co_sited(cell_xy)
    assert co is not None and co[0].shape == (7, 2)
    assert antenna.co_sited(sites) is None
    for _ in range(10):
        ue = rng.uniform(-1200, 1200, (int(rng.integers(1, 400)), 2))
        want = antenna.angles(cell_xy, az, 25.0, ue, 1.5)
        got = antenna.angles(cell_xy, az, 25.0, ue, 1.5, co)
        for g, w in zip(got, want):
            assert same(g, w)
        # and the per-cell computation (no co-sited shortcut at all)
        for c in range(cell_xy.shape[0]):
            one = antenna.angles(cell_xy[c:c + 1], az[c:c + 1], 25.0, ue, 1.5)
            assert same(got[0][c], one[0][0]) and same(got[2][c], one[2][0])


# ------------------------------------------------------------------------------ channel ------
def _plain_sample(field: channel.CorrelatedField, xy: np.ndarray) -> np.ndarray:
    """CorrelatedField.sample as written before its buffers (broadcast phases, fresh arrays)."""
    arg = np.matmul(xy, field.wave_vectors.transpose(0, 2, 1))
    arg += field.phases[:, None, :]
    arg32 = arg.astype(np.float32)
    np.cos(arg32, out=arg32)
    return field._amplitude * arg32.sum(axis=-1, dtype=np.float64)


@pytest.mark.parametrize("kernel", ["exponential", "gaussian"])
def test_field_sample_with_broadcast_phases_kept_equals_plain(kernel):
    rng = np.random.default_rng(3)
    f = channel.CorrelatedField(rng, 10, 50.0, kernel=kernel)
    for n in (300, 300, 1000, 7, 300):          # buffers kept, replaced, kept again
        xy = rng.uniform(-1500, 1500, (n, 2))
        assert same(f.sample(xy), _plain_sample(f, xy))


def _plain_los_probability_uma(d2d, h_ut):
    d = np.maximum(np.asarray(d2d, dtype=float), 18.0)
    h_ut = np.asarray(h_ut, dtype=float)
    c_h = np.where(h_ut <= 13.0, 0.0, (np.clip(h_ut, 13.0, 23.0) - 13.0) / 10.0) ** 1.5
    base = 18.0 / d + np.exp(-d / 63.0) * (1.0 - 18.0 / d)
    return np.clip(base * (1.0 + c_h * 1.25 * (d / 100.0) ** 3 * np.exp(-d / 150.0)), 0.0, 1.0)


def test_los_probability_without_the_height_term_equals_plain():
    rng = np.random.default_rng(4)
    for h in (1.5, 13.0, 13.5, 22.0, 30.0):
        for _ in range(20):
            d = rng.uniform(0, 3000, (10, 300))
            assert same(channel.los_probability("UMa", d, h), _plain_los_probability_uma(d, h))
    d = rng.uniform(0, 3000, 50)
    h = rng.uniform(1, 25, 50)                             # per-UE heights: the general path
    assert same(channel.los_probability("UMa", d, h), _plain_los_probability_uma(d, h))


def test_pathloss_with_one_log10_equals_plain():
    rng = np.random.default_rng(5)
    for scen in ("UMa", "UMi"):
        for _ in range(20):
            d2d = rng.uniform(0, 5000, (10, 300))
            los = rng.uniform(size=d2d.shape) < 0.4
            h_bs, h_ut, fc = (25.0 if scen == "UMa" else 10.0), 1.5, 3.5
            dd = np.maximum(d2d, 10.0)
            d3d = np.sqrt(dd ** 2 + (h_bs - h_ut) ** 2)
            d_bp = channel.breakpoint_distance_m(fc, h_bs, h_ut)
            if scen == "UMa":
                pl1 = 28.0 + 22.0 * np.log10(d3d) + 20.0 * np.log10(fc)
                pl2 = (28.0 + 40.0 * np.log10(d3d) + 20.0 * np.log10(fc)
                       - 9.0 * np.log10(d_bp ** 2 + (h_bs - h_ut) ** 2))
                nl = 13.54 + 39.08 * np.log10(d3d) + 20.0 * np.log10(fc) - 0.6 * (h_ut - 1.5)
            else:
                pl1 = 32.4 + 21.0 * np.log10(d3d) + 20.0 * np.log10(fc)
                pl2 = (32.4 + 40.0 * np.log10(d3d) + 20.0 * np.log10(fc)
                       - 9.5 * np.log10(d_bp ** 2 + (h_bs - h_ut) ** 2))
                nl = 22.4 + 35.3 * np.log10(d3d) + 21.3 * np.log10(fc) - 0.3 * (h_ut - 1.5)
            pl_los = np.where(dd <= d_bp, pl1, pl2)
            want = np.where(los, pl_los, np.maximum(pl_los, nl))
            assert same(channel.pathloss_db(scen, los, d2d, fc, h_bs, h_ut), want)


# ------------------------------------------------------------------------------ measurements -
def _short_perf(tmp_path=None, **over) -> Simulation:
    ov = ["simulation.duration_s=2", "ue_groups.0.count=40", "ue_groups.1.count=25",
          "ue_groups.2.count=15"] + [f"{k}={v}" for k, v in over.items()]
    return Simulation(load_scenario(REPO / "scenarios" / "perf_300ue.toml", ov))


def test_rsrp_kept_between_channel_updates_equals_recomputed():
    sim = _short_perf()
    radio = sim.radio

    def plain():
        per_re = radio.state.tx_power_dbm - 10 * np.log10(12 * radio.n_prb)
        return np.where(radio.state.cell_on[:, None], per_re[:, None] + radio.gain_db, -np.inf)

    r1 = radio.rsrp_dbm()
    assert radio.rsrp_dbm() is r1 and same(r1, plain()) and not r1.flags.writeable
    sim.population.move(sim.ue_xy, 0.1)
    sim.update_channel()                                   # a new gain: a new RSRP
    r2 = radio.rsrp_dbm()
    assert r2 is not r1 and same(r2, plain())
    st = radio.state                                       # a cell off: a new state array
    cs = st.cell_state.copy()
    cs[3] = 1
    cs.flags.writeable = False
    st.cell_state = cs
    r3 = radio.rsrp_dbm()
    assert r3 is not r2 and same(r3, plain()) and np.isneginf(r3[3]).all()


class _PlainA3(A3Handover):
    """A3Handover as written before the fast paths (masks always, no kept products)."""

    def filtered_rsrp(self, rsrp_dbm, k=None):
        m = rsrp_dbm
        k = self.cfg.l3_filter_k if k is None else k
        if k == 0:
            return m
        a = 1.0 / 2 ** (k / 4)
        prev = self._rsrp_l3
        fin = np.isfinite(m)
        if prev is None or prev.shape != m.shape:
            f = m
        else:
            f = np.where(fin & np.isfinite(prev), (1 - a) * prev + a * m, m)
        self._rsrp_l3 = f
        return f

    def evaluate(self, now_us, rsrp_dbm, serving, cell_on, eligible):
        cfg = self.cfg
        n_ues = serving.shape[0]
        rsrp = self.filtered_rsrp(rsrp_dbm)
        u = np.arange(n_ues)
        best = np.argmax(rsrp, axis=0)
        serving_rsrp = rsrp[serving, u]
        forced = eligible & ~cell_on[serving] & np.isfinite(rsrp[best, u])
        if cfg.enabled:
            a3 = eligible & ~forced & (best != serving) & (rsrp[best, u] > serving_rsrp
                                                           + cfg.a3_offset_db)
        else:
            a3 = np.zeros(n_ues, bool)
        new_cand = a3 & (self._ho_cand != best)
        self._ho_cand = np.where(a3, best, -1)
        self._ho_since = np.where(new_cand, now_us, self._ho_since)
        fire = forced | (a3 & (now_us - self._ho_since >= self.ttt_us))
        ue = np.flatnonzero(fire)
        target = best[ue]
        gain = rsrp[target, ue] - serving_rsrp[ue]
        new_serving = np.where(fire, best, serving) if ue.size else serving
        if ue.size:
            self._ho_cand = np.where(fire, -1, self._ho_cand)
        return new_serving, ue, target, forced[ue], gain


@pytest.mark.parametrize("k", [0, 4, 7])
def test_a3_fast_paths_equal_plain_evaluation(k):
    # random RSRP with repeated (read-only, kept) measurements, cells switched off and on,
    # ineligible UEs: every branch of the fast and general paths, against the plain one
    rng = np.random.default_rng(10 + k)
    sim = _short_perf(**{"network.handover.l3_filter_k": k})
    C, U = 12, 200
    fast, plain = A3Handover(sim.scenario.network.handover, U), None
    plain = _PlainA3(sim.scenario.network.handover, U)
    serving = rng.integers(0, C, U)
    m = None
    for step in range(60):
        if m is None or rng.uniform() < 0.4:               # a new measurement (else the same)
            m = rng.normal(-90, 15, (C, U))
            on = np.ones(C, bool)
            if rng.uniform() < 0.3:
                on[rng.integers(0, C, 2)] = False
                m[~on] = -np.inf
            m.flags.writeable = False
        eligible = np.ones(U, bool) if rng.uniform() < 0.7 else rng.uniform(size=U) < 0.9
        now = step * 40_000
        d = fast.evaluate(now, m, serving, on, eligible)
        p = plain.evaluate(now, m, serving, on, eligible)
        assert same(d.serving, p[0]) and same(d.ue, p[1]) and same(d.target, p[2])
        assert same(d.forced, p[3]) and same(d.rsrp_gain_db, p[4])
        assert same(fast._rsrp_l3, plain._rsrp_l3)
        assert same(fast._ho_cand, plain._ho_cand) and same(fast._ho_since, plain._ho_since)
        serving = d.serving
    # a writable measurement is never kept (it could change behind the cache)
    w, w2 = np.full((C, U), -80.0), np.full((C, U), -80.0)
    a, pa = fast.filtered_rsrp(w, 4).copy(), plain.filtered_rsrp(w2, 4).copy()
    w[0] = w2[0] = -70.0
    b, pb = fast.filtered_rsrp(w, 4), plain.filtered_rsrp(w2, 4)
    assert same(a, pa) and same(b, pb)


# ------------------------------------------------------------------------------ MAC ----------
def _plain_water_fill(group, n_groups, budget, weight, need, max_rounds=8):
    """water_fill as written before its fast path."""
    alloc = np.zeros(group.shape)
    idx = np.flatnonzero((group >= 0) & (need > _EPS) & (weight > 0))
    remaining = budget.astype(float)
    g, w, a, nd = group[idx], weight[idx], np.zeros(idx.size), need[idx]
    for _ in range(max_rounds):
        if idx.size == 0:
            break
        wsum = np.bincount(g, weights=w, minlength=n_groups)
        give = np.minimum(remaining[g] * w / wsum[g], nd - a)
        a += give
        remaining = np.maximum(remaining - np.bincount(g, weights=give, minlength=n_groups), 0.0)
        keep = nd - a > _EPS
        alloc[idx] = a
        if not keep.all():
            idx, g, w, a, nd = idx[keep], g[keep], w[keep], a[keep], nd[keep]
        if not (remaining[g] > _EPS).any():
            break
    return alloc


@pytest.mark.parametrize("seed", range(6))
def test_water_fill_equals_plain(seed):
    rng = np.random.default_rng(seed)
    for _ in range(200):
        U = int(rng.integers(0, 400))
        G = int(rng.integers(1, 100))
        group = rng.integers(-1, G, U)
        budget = np.floor(rng.uniform(0, 60, G))
        budget[rng.uniform(size=G) < 0.1] = rng.choice([0.0, -0.0])
        weight = rng.exponential(1e6, U) * (rng.uniform(size=U) < 0.95)
        need = np.where(rng.uniform(size=U) < 0.5, rng.exponential(5, U), 106.0)
        need[rng.uniform(size=U) < 0.05] = np.inf
        need[rng.uniform(size=U) < 0.05] = 0.0
        rounds = int(rng.integers(1, 9))
        assert same(water_fill(group, G, budget, weight, need, rounds),
                    _plain_water_fill(group, G, budget, weight, need, rounds))
    # integer weights and int32 groups take the same path
    group = rng.integers(-1, 5, 50).astype(np.int32)
    assert same(water_fill(group, 5, np.full(5, 10.0), np.ones(50, int), np.full(50, 3.0)),
                _plain_water_fill(group, 5, np.full(5, 10.0), np.ones(50, int), np.full(50, 3.0)))


def test_angles_without_d3d_equal_angles_with_it():
    rng = np.random.default_rng(6)
    cell_xy = np.repeat(rng.uniform(-800, 800, (5, 2)), 3, axis=0)
    az = np.tile([30.0, 150.0, 270.0], 5)
    ue = rng.uniform(-1200, 1200, (300, 2))
    want = antenna.angles(cell_xy, az, 25.0, ue, 1.5)
    got = antenna.angles(cell_xy, az, 25.0, ue, 1.5, antenna.co_sited(cell_xy), with_d3d=False)
    assert got[3] is None and all(same(g, w) for g, w in zip(got[:3], want[:3]))

