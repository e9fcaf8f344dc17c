"""Synthetic vehicle trace sets: vehicles driven through a simran network with a coverage hole.

The Symbiotic Agents paper drives its RAN with the CQI of 78 moving vehicles whose route crosses a
low-coverage stretch: MCS ≈ 28 in good coverage plunges to ≈ 14 in the hole (papers/004 Fig. 3,
Fig. 4, Fig. 16a: "an MCS plunge in the middle of the route (200-400 s) due to low coverage") and
the cell throughput from 120 to 30 Mbit/s (Fig. 12a). Its traces are not published; this module
makes a set of the same *shape* with the simran kernel itself, reproducible from one seed.

The network (``scenarios/synthetic_highway.toml``)
-------------------------------------------------
A straight road along the x axis (lanes at y = ±1.75 m, ±5.25 m; eastbound on the south side).
Two "towns" (|x| ≥ 1.5 km) are covered by a row of tri-sectorised roadside sites 40 m off the
road, alternating sides, every 400 m, out to ±9.3 km. The open stretch between them,
:data:`HOLE_X_M` = [−1500, 1500] m, has no roadside site: it is covered only by a row of sites
550 m off the road, 700 m apart (x = ±350, ±1050 m). 3.5 GHz UMa, 46 dBm, 40 MHz at 30 kHz
(106 PRB), CQI table 1, MCS table qam64 — the setup of ``scenarios/vehicle_replay.toml``.

Vehicles
--------
Each vehicle ``i`` draws, from its own stream ``SeedSequence(seed, spawn_key=(crc32(
"synthetic_traces.vehicle"), i))`` (so vehicle ``i`` is the same whatever the number of vehicles):
a constant speed, uniform in :data:`SPEED_KMH`; the instant at which it passes the centre of the
hole, ``duration/2 ± 10 %`` (its start offset); a lane of its direction (even ``i`` eastbound, odd
westbound); and the wideband-CQI fluctuation of every sample (below). Its position is
``x(t) = ±v·(t − t_centre)`` — every vehicle meets the hole in the middle third of its trace, for
120-216 s at 50-90 km/h, like the paper's Fig. 16a.

What a sample is
----------------
The kernel (:class:`simran.simulation.Simulation`) holds all vehicles as UEs. A mobility process
moves them every ``mobility_period_ms`` (100 ms) and updates the large-scale channel
(:meth:`~simran.simulation.Simulation.update_channel`: TR 38.901 path loss, LOS and shadowing, both
spatially consistent — vehicles on different lanes and at different speeds see different
realisations of the same fields); the kernel's measurement process performs A3 handovers with the
scenario's offset and time-to-trigger. Every ``period_s`` a sample records, per vehicle:

* ``sinr_db`` = :meth:`~simran.simulation.Simulation.sinr_db` with every cell's interference
  weighted by the activity factor ``interference_load`` (:data:`INTERFERENCE_LOAD`, 1 % of PRBs
  busy: an otherwise idle network whose neighbours send little more than reference and control
  signals — the coverage, not the load, shapes these traces), plus a
  zero-mean Gaussian term of ``fluctuation_db`` (:data:`FLUCTUATION_DB`, 1 dB) — the residual of
  fast fading in a *wideband* CQI averaged over 106 PRB; independent per sample, since samples
  1 s apart are far beyond the coherence time at these speeds. Rounded to 0.1 dB.
* ``cqi`` = :func:`simran.radio.link.sinr_to_cqi` of that stored value with the scenario's mapping
  (``nr_mathworks``), so ``cqi == sinr_to_cqi(sinr_db)`` holds exactly for the file's values;
* ``serving_cell``, ``rsrp_dbm`` (serving cell, 0.1 dB), ``x_m``, ``y_m``, ``speed_mps``.

No link-model parameter is tuned: the shape comes from geometry and path loss alone.
"""

from __future__ import annotations

import math
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from simran.errors import SimranError
from simran.traces.trace import Trace
from simran.traces.trace_set import write_trace_set
from simran.units import US_PER_S, ms_to_us, s_to_us

DEFAULT_SCENARIO = Path(__file__).resolve().parents[2] / "scenarios" / "synthetic_highway.toml"
"""The network the generator drives through (a UE group of it is replaced by the vehicles)."""

HOLE_X_M = (-1500.0, 1500.0)
"""x range of the low-coverage stretch of ``synthetic_highway.toml`` (no roadside site), m."""

SPEED_KMH = (50.0, 90.0)
"""Range of the vehicles' constant speeds, km/h (uniform)."""

CROSSING_JITTER = 0.1
"""The hole centre is passed at ``duration·(1/2 ± CROSSING_JITTER)`` (uniform)."""

LANES_Y_M = {+1: (-1.75, -5.25), -1: (1.75, 5.25)}
"""Lane centres by direction (+1 eastbound, −1 westbound), m; lanes are 3.5 m wide."""

INTERFERENCE_LOAD = 0.01
"""Default activity factor of every cell in the SINR's interference sum (fraction of PRBs busy)."""

FLUCTUATION_DB = 1.0
"""Default standard deviation of the per-sample wideband-CQI fluctuation of the SINR, dB."""

STREAM_KEY = zlib.crc32(b"synthetic_traces.vehicle")
"""First spawn-key word of the per-vehicle random streams."""


@dataclass(frozen=True)
class Vehicle:
    """One synthetic vehicle: straight constant-speed drive along the road.

    Attributes
    ----------
    index : int
        Vehicle number (0-based); the trace id is ``veh_<index+1 :02d>``.
    speed_mps : float
        Constant speed, m/s.
    direction : int
        +1 eastbound (x grows), −1 westbound.
    lane_y_m : float
        Lane centre, m.
    t_centre_s : float
        Trace time at which the vehicle passes x = 0 (the hole centre), s.
    """

    index: int
    speed_mps: float
    direction: int
    lane_y_m: float
    t_centre_s: float

    @property
    def id(self) -> str:
        return f"veh_{self.index + 1:02d}"

    def xy(self, t_s) -> np.ndarray:
        """Position at trace time(s) ``t_s``: [..., 2] in m."""
        t = np.asarray(t_s, dtype=float)
        x = self.direction * self.speed_mps * (t - self.t_centre_s)
        return np.stack([x, np.full_like(x, self.lane_y_m)], axis=-1)


def vehicle_rng(seed: int, index: int) -> np.random.Generator:
    """The random stream of vehicle ``index``: ``SeedSequence(seed, spawn_key=(STREAM_KEY, i))``."""
    ss = np.random.SeedSequence(int(seed), spawn_key=(STREAM_KEY, int(index)))
    return np.random.Generator(np.random.PCG64(ss))


def draw_vehicle(seed: int, index: int, duration_s: float, n_samples: int,
                 fluctuation_db: float) -> tuple[Vehicle, np.ndarray]:
    """Draw vehicle ``index`` and its per-sample SINR fluctuation [n_samples] dB.

    The draws come in a fixed order from the vehicle's own stream: speed, crossing instant, lane,
    then the fluctuation of every sample.
    """
    rng = vehicle_rng(seed, index)
    speed_mps = float(rng.uniform(*SPEED_KMH)) / 3.6
    t_centre_s = duration_s * (0.5 + float(rng.uniform(-CROSSING_JITTER, CROSSING_JITTER)))
    direction = 1 if index % 2 == 0 else -1
    lane = LANES_Y_M[direction][int(rng.integers(2))]
    fluct = rng.normal(0.0, 1.0, n_samples) * fluctuation_db
    return Vehicle(index, speed_mps, direction, lane, t_centre_s), fluct


def in_hole(x_m) -> np.ndarray:
    """True where a position lies in the low-coverage stretch :data:`HOLE_X_M`."""
    x = np.asarray(x_m, dtype=float)
    return (x >= HOLE_X_M[0]) & (x <= HOLE_X_M[1])


def _drive_scenario(scenario, vehicles: int, seed: int):
    """The network scenario with one static group of ``vehicles`` UEs (moved by the generator)."""
    from simran.scenario import Scenario, load_scenario

    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario or DEFAULT_SCENARIO)
    data = scenario.to_dict()
    data["simulation"]["seed"] = int(seed)
    data["ue_groups"] = [{"name": "vehicles", "count": int(vehicles),
                          "slice": data["slices"][0]["name"], "mobility": "static",
                          "min_distance_m": 0.0}]
    data["events"], data["agents"] = [], []
    return Scenario.from_dict(data, source=f"{scenario.name} (synthetic drive)",
                              base_dir=scenario.base_dir)


class _Drive:
    """The SimPy processes of one generation run (mobility, handover, sampling)."""

    def __init__(self, scenario, vehicles: list[Vehicle], fluct: np.ndarray, period_s: float,
                 interference_load: float):
        from simran.simulation import Simulation

        self.sim = sim = Simulation(scenario)
        self.vehicles = vehicles
        # [V] kinematics of the fleet, so a position update is one vectorised expression
        self._v = np.array([v.direction * v.speed_mps for v in vehicles])
        self._tc = np.array([v.t_centre_s for v in vehicles])
        self._y = np.array([v.lane_y_m for v in vehicles])
        self.fluct = fluct                                           # [V, K] dB
        self.period_us = s_to_us(period_s)
        self.n = fluct.shape[1]
        self.load = np.full(sim.C, float(interference_load))
        self.rec = {k: np.zeros((len(vehicles), self.n)) for k in
                    ("sinr_db", "rsrp_dbm", "serving_cell", "x_m", "y_m")}
        self._place(0)
        sim.serving = np.argmax(sim.rsrp_dbm(), axis=0)             # attach at t = 0

    def _place(self, now_us: int) -> None:
        t_s = now_us / US_PER_S
        self.sim.ue_xy[:, 0] = self._v * (t_s - self._tc)          # = Vehicle.xy, vectorised
        self.sim.ue_xy[:, 1] = self._y
        self.sim.update_channel()

    def mobility(self):
        period_us = ms_to_us(self.sim.scenario.simulation.mobility_period_ms)
        while True:
            yield self.sim.env.timeout(period_us)
            self._place(self.sim.env.now)

    def sampler(self):
        from simran.radio.link import sinr_to_cqi

        sim, u = self.sim, np.arange(len(self.vehicles))
        for k in range(self.n):
            if k:
                yield sim.env.timeout(self.period_us)
            self._place(sim.env.now)
            sinr = np.round(sim.sinr_db(self.load) + self.fluct[:, k], 1)
            self.rec["sinr_db"][:, k] = sinr
            self.rec["rsrp_dbm"][:, k] = np.round(sim.rsrp_dbm()[sim.serving, u], 1)
            self.rec["serving_cell"][:, k] = sim.serving
            self.rec["x_m"][:, k], self.rec["y_m"][:, k] = sim.ue_xy[:, 0], sim.ue_xy[:, 1]
        stored = self.rec["sinr_db"].astype(np.float32).astype(np.float64)
        self.rec["cqi"] = sinr_to_cqi(stored, sim.scenario.network.sinr_to_cqi)

    def run(self) -> None:
        env, sim = self.sim.env, self.sim
        env.process(self.mobility())
        env.process(sim._measurement_proc())      # the kernel's A3 + time-to-trigger handover
        done = env.process(self.sampler())
        env.run(until=done)


def generate(vehicles: int = 78, period_s: float = 1.0, duration_s: float = 600.0,
             seed: int = 78, scenario=None, interference_load: float = INTERFERENCE_LOAD,
             fluctuation_db: float = FLUCTUATION_DB) -> tuple[list[Trace], dict]:
    """Drive ``vehicles`` vehicles through the network and record their traces.

    Parameters
    ----------
    vehicles : int
        Number of vehicles (one trace each), ≥ 1.
    period_s : float
        Sampling period, s (> 0, a whole number of µs).
    duration_s : float
        Length of every trace, s; ``round(duration_s / period_s)`` samples.
    seed : int
        Root seed: the scenario's channel fields and every vehicle's stream derive from it.
    scenario : Scenario or path, optional
        The network (default :data:`DEFAULT_SCENARIO`); its UE groups are replaced.
    interference_load : float
        Activity factor 0..1 weighting every cell's interference.
    fluctuation_db : float
        Standard deviation of the per-sample wideband-CQI SINR fluctuation, dB (0 = none).

    Returns
    -------
    traces : list of Trace
        ``veh_01`` … with ``cqi``, ``sinr_db``, ``rsrp_dbm``, ``serving_cell``, ``x_m``, ``y_m``,
        ``speed_mps`` and the vehicle's parameters in ``attrs``.
    info : dict
        Generation parameters and figures for the file attributes (``scenario_json``,
        ``handovers``, ``calibration``).

    Raises
    ------
    SimranError
        A parameter out of range.
    """
    _check(vehicles, period_s, duration_s, seed, interference_load, fluctuation_db)
    n = int(round(duration_s / period_s))
    drawn = [draw_vehicle(seed, i, duration_s, n, fluctuation_db) for i in range(vehicles)]
    fleet = [v for v, _ in drawn]
    scen = _drive_scenario(scenario, vehicles, seed)
    drive = _Drive(scen, fleet, np.array([f for _, f in drawn]), period_s, interference_load)
    drive.run()
    t_s = np.arange(n) * period_s
    traces = [_trace(v, t_s, {k: a[i] for k, a in drive.rec.items()}, period_s)
              for i, v in enumerate(fleet)]
    info = {"scenario_json": scen.to_json(), "handovers": int(drive.sim.handovers),
            "calibration": calibration(traces, scen.network.cqi_table, scen.network.mcs_table)}
    return traces, info


def _check(vehicles, period_s, duration_s, seed, load, fluct) -> None:
    problems = []
    if int(vehicles) < 1:
        problems.append(f"vehicles must be ≥ 1, got {vehicles}")
    if not (math.isfinite(period_s) and math.isfinite(duration_s)):
        raise SimranError(f"synthetic traces: period_s and duration_s must be finite, got "
                          f"{period_s} and {duration_s}")
    if duration_s > 86_400:
        problems.append(f"duration_s must be ≤ 86400 s (one day), got {duration_s}")
    if not period_s > 0 or abs(s_to_us(period_s) - period_s * US_PER_S) > 1e-6:
        problems.append(f"period_s must be > 0 and a whole number of µs, got {period_s}")
    if not duration_s >= period_s:
        problems.append(f"duration_s must be ≥ period_s, got {duration_s}")
    if int(seed) < 0:
        problems.append(f"seed must be ≥ 0, got {seed}")
    if not 0.0 <= load <= 1.0:
        problems.append(f"interference_load must be in 0..1, got {load}")
    if not (math.isfinite(fluct) and fluct >= 0):
        problems.append(f"fluctuation_db must be ≥ 0, got {fluct}")
    if problems:
        raise SimranError("synthetic traces: " + "; ".join(problems))


def _trace(v: Vehicle, t_s: np.ndarray, rec: dict, period_s: float) -> Trace:
    attrs = {"source": "simran.traces.synthetic (simulated)", "licence": "MIT",
             "sampling_period_s": float(period_s), "speed_mps": v.speed_mps,
             "direction": "eastbound" if v.direction > 0 else "westbound",
             "lane_y_m": v.lane_y_m, "t_hole_centre_s": v.t_centre_s,
             "seed_stream": f"SeedSequence(seed, spawn_key=({STREAM_KEY}, {v.index}))"}
    return Trace(v.id, t_s, rec["cqi"], speed_mps=np.full(t_s.size, v.speed_mps),
                 x_m=rec["x_m"], y_m=rec["y_m"], sinr_db=rec["sinr_db"],
                 rsrp_dbm=rec["rsrp_dbm"], serving_cell=rec["serving_cell"].astype(np.int64),
                 attrs=attrs)


def calibration(traces, cqi_table: str = "table1", mcs_table: str = "qam64",
                scs_khz: float = 30, n_prb: int = 106) -> dict:
    """MCS and full-cell rate inside / outside the hole, pooled over all samples.

    The rate is what one full-buffer UE gets with every PRB of the cell:
    ``n_prb · rate_per_prb(MCS)`` (TS 38.306 form, 1 layer, OH 0.14; :mod:`simran.radio.link`).

    Returns
    -------
    dict
        ``mcs_mean_hole``, ``mcs_mean_outside``, ``cqi_mean_hole``, ``cqi_mean_outside``,
        ``rate_mbps_hole``, ``rate_mbps_outside`` (means over samples), ``hole_share``.
    """
    from simran.radio import link

    x = np.concatenate([t.x_m for t in traces])
    cqi = np.concatenate([t.cqi for t in traces]).astype(np.int64)
    mcs = link.cqi_to_mcs(cqi, cqi_table, mcs_table).astype(np.int64)
    rate = n_prb * link.rate_per_prb_bps(link.mcs_efficiency(mcs, mcs_table), scs_khz) / 1e6
    mcs = np.maximum(mcs, 0)             # CQI 0 (no transmission) counts as MCS 0 in the mean
    hole = in_hole(x)
    out = {"hole_share": float(hole.mean())}
    for name, mask in (("hole", hole), ("outside", ~hole)):
        out[f"mcs_mean_{name}"] = float(mcs[mask].mean()) if mask.any() else float("nan")
        out[f"cqi_mean_{name}"] = float(cqi[mask].mean()) if mask.any() else float("nan")
        out[f"rate_mbps_{name}"] = float(rate[mask].mean()) if mask.any() else float("nan")
    return out


def write_synthetic_set(path, vehicles: int = 78, period_s: float = 1.0,
                        duration_s: float = 600.0, seed: int = 78, scenario=None,
                        created_by: str = "", **kwargs) -> tuple[Path, dict]:
    """Generate (:func:`generate`) and write a trace-set file; returns the path and the info."""
    traces, info = generate(vehicles, period_s, duration_s, seed, scenario, **kwargs)
    params = {"vehicles": int(vehicles), "period_s": float(period_s),
              "duration_s": float(duration_s), "seed": int(seed),
              "interference_load": kwargs.get("interference_load", INTERFERENCE_LOAD),
              "fluctuation_db": kwargs.get("fluctuation_db", FLUCTUATION_DB),
              "speed_kmh": list(SPEED_KMH), "crossing_jitter": CROSSING_JITTER,
              "hole_x_m": list(HOLE_X_M), "lanes_y_m": {"eastbound": LANES_Y_M[1],
                                                         "westbound": LANES_Y_M[-1]}}
    attrs = {"name": Path(path).stem,
             "description": f"{vehicles} synthetic vehicles, {duration_s:g} s at {period_s:g} s, "
                            "driven through scenarios/synthetic_highway.toml (coverage hole at "
                            "|x| ≤ 1.5 km) by simran.traces.synthetic",
             "created_by": created_by or f"simran.traces.synthetic.write_synthetic_set(seed="
                                         f"{seed})",
             "licence": "MIT", "citation": "", "parameters": params,
             "scenario_json": info["scenario_json"], "handovers": info["handovers"],
             **{f"calibration_{k}": v for k, v in info["calibration"].items()}}
    return write_trace_set(path, traces, attrs), info
