"""Ground truth of the digital-twin tasks, computed by simran's own kernel (papers/000 §IV).

The Hermes paper generates its ground truth with "a numerical simulator modeling a small network
composed by 10 tri-sectorized BSs"; here that simulator is simran, on ``scenarios/hermes10.toml``
with a few documented overrides (:data:`TWIN_OVERRIDES`):

* full-buffer traffic, so every cell that serves a UE uses all its PRBs (load 1) — the EARTH
  power of a cell and its interference are then fixed by association alone;
* A3 handover with offset 0 dB, TTT 0 ms and no layer-3 filter, so after one measurement period
  (40 ms) every UE is served by the cell of strongest RSRP;
* no scripted events (the task's policy is the only change);
* for the new-site task only, a deterministic channel (no shadowing, NLOS everywhere,
  :data:`DETERMINISTIC_OVERRIDES`): a site that does not exist yet has no measurements, so its
  shadowing could not be predicted by anyone, and the task would be ill-posed.

Two kinds of answer, both from simran:

* **SINR snapshots** (:func:`snapshot`): after the policy is applied through the control surface
  (:class:`simran.control.SetCellPower`, :class:`~simran.control.SetCellState`), each UE is
  attached to the cell of strongest RSRP (:meth:`Simulation.rsrp_dbm`) and its SINR is
  :meth:`Simulation.sinr_db` with every active cell at full load — what the kernel's tick computes
  at full buffer once handovers have settled (tested against the kernel).
* **Network power** (:func:`kernel_power_w`): the kernel runs 1 s with the policy applied at
  t = 0 (scripted events) and the mean input power of every cell over [0.5 s, 1 s] is read from
  its EARTH energy integral (:class:`simran.radio.energy.CellPowerModel`).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[2]
HERMES10_TOML = REPO_ROOT / "scenarios" / "hermes10.toml"

TWIN_OVERRIDES = (
    'ue_groups.0.traffic="full_buffer"',
    "simulation.duration_s=1.0",
    "network.handover.a3_offset_db=0",
    "network.handover.ttt_ms=0",
    "network.handover.l3_filter_k=0",
)
"""Overrides of ``scenarios/hermes10.toml`` that make the twin's ground truth (module docstring)."""

DETERMINISTIC_OVERRIDES = ("network.shadowing=false", 'network.los_model="nlos"')
"""Extra overrides of the new-site task: a channel fixed by geometry alone."""

POWER_WINDOW_S = (0.5, 1.0)
"""Window over which the kernel's mean cell input power is measured [s] (after re-attachment)."""


def twin_scenario(deterministic: bool = False, events: list[dict] | None = None,
                  sites_xy: np.ndarray | None = None):
    """The hermes10 scenario with the twin overrides, optional policy events and extra sites.

    Parameters
    ----------
    deterministic : bool
        Add :data:`DETERMINISTIC_OVERRIDES` (no shadowing, NLOS).
    events : list of dict, optional
        Scripted events (``simran.scenario.EventConfig`` fields) replacing the file's events.
    sites_xy : ndarray, shape [S, 2], optional
        Explicit site positions [m] (``layout = "sites"``), e.g. hermes10 plus a new site.

    Returns
    -------
    simran.Scenario
    """
    import simran
    from simran.scenario import Scenario

    overrides = list(TWIN_OVERRIDES) + (list(DETERMINISTIC_OVERRIDES) if deterministic else [])
    data = simran.load_scenario(HERMES10_TOML, overrides).model_dump()
    data["events"] = list(events or [])
    if sites_xy is not None:
        data["network"]["layout"] = "sites"
        data["network"]["sites"] = [{"x_m": float(x), "y_m": float(y)} for x, y in sites_xy]
    return Scenario.model_validate(data)


def build_simulation(scenario, ue_xy: np.ndarray | None = None):
    """A :class:`simran.Simulation` of ``scenario``, with UEs moved to ``ue_xy`` if given.

    Parameters
    ----------
    scenario : simran.Scenario
    ue_xy : ndarray, shape [U, 2], optional
        UE positions [m] (same U as the scenario); the channel is recomputed there.

    Returns
    -------
    simran.Simulation
    """
    from simran.simulation import Simulation

    sim = Simulation(scenario)
    if ue_xy is not None:
        sim.ue_xy[:] = np.asarray(ue_xy, dtype=float)
        sim.update_channel()
    return sim


def apply_policy(sim, powers_dbm=None, off_cells=()) -> None:
    """Apply transmit powers and cell shutdowns through the control surface, now.

    Parameters
    ----------
    sim : simran.Simulation
    powers_dbm : array_like, shape [C], optional
        New transmit power of every cell [dBm].
    off_cells : iterable of int
        Cells switched off.

    Raises
    ------
    ValueError
        If the control surface clamps or rejects an action (the task would then not be the one
        stated).
    """
    from simran.control import SetCellPower, SetCellState

    actions = [] if powers_dbm is None else [SetCellPower(power_dbm=float(p), cell=c)
                                             for c, p in enumerate(powers_dbm)]
    actions += [SetCellState(state="off", cell=int(c)) for c in off_cells]
    for a in actions:
        verdict = sim.control.apply(a)
        if verdict.status != "accepted":
            raise ValueError(f"control surface {verdict.status} {a}: {verdict.reason}")


@dataclass
class Snapshot:
    """RSRP, association and SINR of every UE in one network state.

    Attributes
    ----------
    rsrp_dbm : ndarray, shape [C, U]
        RSRP per resource element [dBm]; −inf for cells that are off.
    serving : ndarray of int, shape [U]
        Cell of strongest RSRP.
    sinr_db : ndarray, shape [U]
        SINR [dB] with every active cell at full load.
    """

    rsrp_dbm: np.ndarray
    serving: np.ndarray
    sinr_db: np.ndarray


def snapshot(sim) -> Snapshot:
    """Associate every UE to its strongest cell and return simran's full-load SINR.

    Parameters
    ----------
    sim : simran.Simulation
        In the state to evaluate (policy applied).

    Returns
    -------
    Snapshot
    """
    rsrp = sim.rsrp_dbm()
    sim.serving = np.argmax(rsrp, axis=0).astype(np.int64)
    sinr = sim.sinr_db(load=np.ones(sim.C))
    return Snapshot(rsrp_dbm=rsrp, serving=sim.serving.copy(), sinr_db=np.asarray(sinr, float))


def kernel_power_w(scenario, ue_xy: np.ndarray | None = None) -> np.ndarray:
    """Mean EARTH input power of every cell [W] over :data:`POWER_WINDOW_S`, from a kernel run.

    Parameters
    ----------
    scenario : simran.Scenario
        With the policy as events at t = 0 and ``duration_s`` = 1.
    ue_xy : ndarray, shape [U, 2], optional
        UE positions [m].

    Returns
    -------
    ndarray, shape [C] (W)
    """
    sim = build_simulation(scenario, ue_xy)
    t0_us = int(POWER_WINDOW_S[0] * 1e6)
    marks: dict[str, np.ndarray] = {}

    def progress(t_us: int) -> None:
        if t_us == t0_us:
            marks["e0"] = sim.energy_j.copy()

    sim.run(progress)
    if "e0" not in marks:
        raise RuntimeError(f"kernel progress never reached t = {POWER_WINDOW_S[0]} s")
    return (sim.energy_j - marks["e0"]) / (POWER_WINDOW_S[1] - POWER_WINDOW_S[0])


@dataclass
class Baseline:
    """The measured network before any policy: what the task inputs are exported from.

    Attributes
    ----------
    scenario : simran.Scenario
    ue_xy : ndarray, shape [U, 2] (m)
    cell_xy : ndarray, shape [C, 2] (m)
    site_xy : ndarray, shape [S, 2] (m)
    cell_site, cell_sector : ndarray of int, shape [C]
    azimuth_deg : ndarray, shape [C]
    tx_power_dbm : ndarray, shape [C]
    snap : Snapshot
        Baseline RSRP, association, SINR.
    cell_power_w : ndarray, shape [C]
        Mean EARTH input power per cell [W] (kernel run).
    cell_load : ndarray, shape [C]
        PRB load of every cell at the end of the baseline run, in [0, 1].
    n_prb : int
    bs_height_m : float
    """

    scenario: object
    ue_xy: np.ndarray
    cell_xy: np.ndarray
    site_xy: np.ndarray
    cell_site: np.ndarray
    cell_sector: np.ndarray
    azimuth_deg: np.ndarray
    tx_power_dbm: np.ndarray
    snap: Snapshot
    cell_power_w: np.ndarray
    cell_load: np.ndarray
    n_prb: int
    bs_height_m: float


@functools.lru_cache(maxsize=2)
def baseline(deterministic: bool = False) -> Baseline:
    """Build (once per process) the baseline network of the twin tasks.

    Parameters
    ----------
    deterministic : bool
        The channel of the new-site task (see module docstring).

    Returns
    -------
    Baseline
    """
    scen = twin_scenario(deterministic)
    sim = build_simulation(scen)
    topo = sim.topo
    power = kernel_power_w(scen)
    run = build_simulation(scen)
    run.run()
    snap = snapshot(sim)
    return Baseline(scenario=scen, ue_xy=sim.ue_xy.copy(), cell_xy=topo.cell_xy.copy(),
                    site_xy=topo.site_xy.copy(), cell_site=topo.cell_site.copy(),
                    cell_sector=topo.cell_sector.copy(),
                    azimuth_deg=topo.cell_azimuth_deg.copy(),
                    tx_power_dbm=np.array(sim.net.tx_power_dbm, dtype=float), snap=snap,
                    cell_power_w=power, cell_load=np.array(run.prev_load, dtype=float),
                    n_prb=int(sim.n_prb), bs_height_m=float(sim.bs_height_m))


# ------------------------------------------------------------------------------------------------
# the four answers
# ------------------------------------------------------------------------------------------------
def power_control_sinr_db(powers_dbm, deterministic: bool = False) -> np.ndarray:
    """Task (a): per-UE SINR [dB] after every cell is set to ``powers_dbm`` [dBm], shape [U]."""
    base = baseline(deterministic)
    sim = build_simulation(base.scenario)
    apply_policy(sim, powers_dbm=powers_dbm)
    return snapshot(sim).sinr_db


def shutdown_power_w(off_cells, deterministic: bool = False) -> float:
    """Task (b): network input power [W] with ``off_cells`` switched off (kernel run)."""
    events = [{"at_s": 0.0, "action": "cell_off", "cell": int(c)} for c in off_cells]
    return float(kernel_power_w(twin_scenario(deterministic, events)).sum())


def tradeoff_point(power_dbm: float, deterministic: bool = False) -> tuple[float, np.ndarray]:
    """Task (c), one level: (network input power [W], per-UE SINR [dB]) with every cell at
    ``power_dbm`` [dBm]."""
    events = [{"at_s": 0.0, "action": "set_cell_power", "value": float(power_dbm)}]
    power_w = float(kernel_power_w(twin_scenario(deterministic, events)).sum())
    base = baseline(deterministic)
    sim = build_simulation(base.scenario)
    apply_policy(sim, powers_dbm=np.full(base.cell_site.size, float(power_dbm)))
    return power_w, snapshot(sim).sinr_db


def new_site_sinr_db(new_sites_xy, deterministic: bool = True) -> np.ndarray:
    """Task (d): per-UE SINR [dB] with tri-sectorised sites added at ``new_sites_xy`` [m]."""
    base = baseline(deterministic)
    sites = np.vstack([base.site_xy, np.asarray(new_sites_xy, float).reshape(-1, 2)])
    sim = build_simulation(twin_scenario(deterministic, sites_xy=sites), base.ue_xy)
    return snapshot(sim).sinr_db
