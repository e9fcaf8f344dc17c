"""The four Hermes tasks on hermes10 (papers/000 §IV): statements, instances, inputs, answers.

=========  ==============  =============================================  =====================
key        paper's name    the change (``policy.toml``)                   answer (``result.json``)
=========  ==============  =============================================  =====================
power      power control   a new transmit power for every cell [dBm]      per-UE SINR [dB]
shutdown   energy saving   the three cells of one site switched off       network energy [kWh/h]
tradeoff   energy vs SINR  five power levels, all cells at each level     energy + SINR per level
new_site   new BS          one tri-sectorised site added at (x, y)        per-UE SINR [dB]
=========  ==============  =============================================  =====================

Run ``r`` of a task draws its own instance (powers, site, levels, position) from
``numpy.random.default_rng([13, task number, r])``, so 20 runs are 20 different questions on the
same network. Every instance has a *null* twin (no change: baseline powers, nothing off, one
level equal to today's power, no new site) whose answer is the measured baseline — the ground
truth of the chain's sanity check (papers/000 §III-C).

The inputs are exported from a :class:`simran.Simulation` of the baseline network
(:func:`agents.twin.truth.baseline`), the answers come from simran's kernel
(:mod:`agents.twin.truth`), the error measures from :mod:`agents.twin.scoring`.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field

import numpy as np

from agents.twin import truth

TASKS = ("power", "shutdown", "tradeoff", "new_site")
"""Task keys in the paper's order of complexity (Fig. 4)."""

TITLES = {"power": "(a) power control -> per-UE SINR",
          "shutdown": "(b) BS shutdown -> network energy",
          "tradeoff": "(c) energy vs SINR over power levels",
          "new_site": "(d) new BS -> per-UE SINR"}

HOURS = 1.0
"""Energy horizon of the energy answers: one hour of operation in the new steady state."""

N_LEVELS = 5
"""Power levels per trade-off instance."""

MIN_NEW_SITE_DISTANCE_M = 250.0
"""A new site is drawn at least this far from every existing site [m]."""

INPUT_FILES = ("network.toml", "cells.csv", "ues.csv", "rsrp_dbm.csv", "policy.toml")

DATA_DESCRIPTION = """\
Input files in the current directory (the only files you can read):
- network.toml: [radio], [antenna], [earth] parameters and [baseline] measured network power.
- cells.csv: cell_id,site_id,sector,x_m,y_m,azimuth_deg,tx_power_dbm,on,load (row i = cell i).
- ues.csv: ue_id,x_m,y_m,serving_cell,sinr_db (measured now, before the change; row i = UE i).
- rsrp_dbm.csv: ue_id,cell_0,...,cell_29: measured RSRP per resource element [dBm], now.
- policy.toml: the change to evaluate, table [policy].
Network rules: a UE is served by the cell with the strongest RSRP. Traffic is full buffer:
every active cell transmits at full power on all PRBs (interferes at load 1); a cell serving
at least one UE has load 1, a cell serving none has load 0. SINR = RSRP of the serving cell /
(sum of the RSRP of all other active cells + noise per resource element), all in linear units
(mW); noise per resource element = -174 dBm/Hz + 10*log10(scs_khz*1000) + noise_figure_db.
RSRP changes dB for dB with a cell's transmit power; a cell that is off has no RSRP.
EARTH power of a cell: n_trx*(p0_w + delta_p*p_out_w) when on, p_out_w = tx power [W] / n_trx
* load; n_trx*p_sleep_w when off. Write the answer to result.json in the current directory."""

STATEMENTS = {
    "power": """\
Power control. policy.toml gives tx_power_dbm: a new transmit power [dBm] for every cell
(list index = cell_id). Estimate the SINR [dB] of every UE after the change (UEs re-attach to
the strongest cell). result.json: {"sinr_db": [one float per UE, in ue_id order]}.""",
    "shutdown": """\
BS shutdown (energy saving). policy.toml gives off_cells: the cells switched off (one whole
site). Their UEs re-attach to the strongest remaining cell. Estimate the energy the whole
network consumes in one hour in the new state [kWh]. result.json: {"energy_kwh": float}.""",
    "tradeoff": """\
Energy vs SINR trade-off. policy.toml gives power_levels_dbm: for each level, every cell
transmits at that power [dBm]. For each level estimate the network energy over one hour [kWh]
and the SINR [dB] of every UE. result.json: {"energy_kwh": [one float per level],
"sinr_db": [[one float per UE, ue_id order] per level]}, levels in the order given.""",
    "new_site": """\
New BS deployment. policy.toml gives new_sites: [[x_m, y_m], ...], each a new tri-sectorised
site (sectors 0,1,2 with azimuths 30,150,270 deg, tx power [radio] tx_power_dbm, same antenna
and height as the others; new cell ids continue after the last one). The channel is TR 38.901
UMa NLOS path loss (no shadowing) plus the TR 38.901 sector antenna gain, and the measured RSRP
of the existing cells follows it exactly. Estimate the SINR [dB] of every UE with the new
site(s). result.json: {"sinr_db": [one float per UE, in ue_id order]}.""",
}


@dataclass
class TaskInstance:
    """One question: a task, its run number, its policy and (hidden) ground truth.

    Attributes
    ----------
    task : str
        One of :data:`TASKS`.
    run : int
        Run number (the instance seed).
    policy : dict
        The ``[policy]`` table given to the code.
    null_policy : dict
        The no-change policy of the sanity check.
    truth : dict
        The answer, in the ``result.json`` format (never shown to the code).
    null_truth : dict
        The answer of the null policy (the measured baseline).
    baseline_energy_kwh : float
        Network energy of the baseline over :data:`HOURS` [kWh] (the ``E0`` of the shutdown error).
    files : dict of str to bytes
        Input files (name → content), policy included.
    """

    task: str
    run: int
    policy: dict
    null_policy: dict
    truth: dict = field(repr=False)
    null_truth: dict = field(repr=False)
    baseline_energy_kwh: float = 0.0
    files: dict = field(default_factory=dict, repr=False)

    @property
    def statement(self) -> str:
        """The task statement in plain language (task part + data description)."""
        return STATEMENTS[self.task] + "\n" + DATA_DESCRIPTION

    def files_with_policy(self, policy: dict) -> dict:
        """The input files with ``policy.toml`` replaced by ``policy`` (e.g. the null one)."""
        out = dict(self.files)
        out["policy.toml"] = policy_toml(policy).encode()
        return out


# ------------------------------------------------------------------------------------------------
# export
# ------------------------------------------------------------------------------------------------
def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, (list, tuple, np.ndarray)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    if isinstance(v, (int, np.integer)):
        return str(int(v))
    return repr(float(v))


def _toml(tables: dict) -> str:
    lines = []
    for name, table in tables.items():
        lines.append(f"[{name}]")
        lines += [f"{k} = {_toml_value(v)}" for k, v in table.items()]
        lines.append("")
    return "\n".join(lines)


def policy_toml(policy: dict) -> str:
    """The ``policy.toml`` text of a policy dict (one ``[policy]`` table)."""
    return _toml({"policy": policy})


def _csv(columns: dict, fmt: dict | None = None) -> bytes:
    names = list(columns)
    n = len(next(iter(columns.values())))
    buf = io.StringIO()
    buf.write(",".join(names) + "\n")
    for i in range(n):
        row = []
        for k in names:
            v = columns[k][i]
            row.append(f"{v:.6f}" if isinstance(v, (float, np.floating)) else str(int(v)))
        buf.write(",".join(row) + "\n")
    return buf.getvalue().encode()


def network_toml(base: truth.Baseline, deterministic: bool) -> str:
    """The ``network.toml`` text: radio, antenna and EARTH parameters and the baseline power."""
    from simran.radio import energy

    n = base.scenario.network
    earth = energy.bs_params(n.bs_type)
    n_trx_cell = earth.n_trx / n.sectors
    power_w = float(base.cell_power_w.sum())
    return _toml({
        "radio": {"carrier_ghz": n.carrier_ghz, "bandwidth_mhz": n.bandwidth_mhz,
                  "scs_khz": n.scs_khz, "n_prb": base.n_prb, "tx_power_dbm": n.tx_power_dbm,
                  "noise_figure_db": n.noise_figure_db, "bs_height_m": base.bs_height_m,
                  "ue_height_m": n.ue_height_m, "pathloss_model": f"TR 38.901 {n.scenario}",
                  "los": "all NLOS" if deterministic else "probabilistic (TR 38.901)",
                  "shadowing": not deterministic},
        "antenna": {"pattern": "TR 38.901 Table 7.3-1 sector", "max_gain_dbi":
                    n.antenna.max_gain_dbi, "hpbw_deg": n.antenna.hpbw_deg,
                    "downtilt_deg": n.antenna.downtilt_deg, "front_to_back_db": 30.0,
                    "sla_v_db": 30.0},
        "earth": {"model": "EARTH (Auer et al. 2011)", "n_trx": n_trx_cell,
                  "p0_w": earth.p0_w, "delta_p": earth.delta_p, "p_sleep_w": earth.p_sleep_w,
                  "p_max_w": earth.p_max_w},
        "baseline": {"network_power_w": power_w, "energy_kwh_per_hour": power_w / 1e3},
    })


def export_files(base: truth.Baseline, deterministic: bool, policy: dict) -> dict:
    """All input files of an instance (name → bytes), exported from the baseline network."""
    C, U = base.cell_site.size, base.ue_xy.shape[0]
    cells = {"cell_id": np.arange(C), "site_id": base.cell_site, "sector": base.cell_sector,
             "x_m": base.cell_xy[:, 0].astype(float), "y_m": base.cell_xy[:, 1].astype(float),
             "azimuth_deg": base.azimuth_deg.astype(float),
             "tx_power_dbm": base.tx_power_dbm.astype(float), "on": np.ones(C, int),
             "load": base.cell_load.astype(float)}
    ues = {"ue_id": np.arange(U), "x_m": base.ue_xy[:, 0], "y_m": base.ue_xy[:, 1],
           "serving_cell": base.snap.serving, "sinr_db": base.snap.sinr_db}
    rsrp = {"ue_id": np.arange(U)}
    rsrp.update({f"cell_{c}": base.snap.rsrp_dbm[c] for c in range(C)})
    return {"network.toml": network_toml(base, deterministic).encode(),
            "cells.csv": _csv(cells), "ues.csv": _csv(ues), "rsrp_dbm.csv": _csv(rsrp),
            "policy.toml": policy_toml(policy).encode()}


# ------------------------------------------------------------------------------------------------
# instances
# ------------------------------------------------------------------------------------------------
def _kwh(power_w: float) -> float:
    return float(power_w) * HOURS / 1e3


def _draw_policy(task: str, rng: np.random.Generator, base: truth.Baseline) -> dict:
    C = base.cell_site.size
    if task == "power":
        return {"tx_power_dbm": [float(p) for p in 46.0 + rng.integers(-6, 4, C)]}
    if task == "shutdown":
        site = int(rng.integers(base.site_xy.shape[0]))
        return {"off_cells": [int(c) for c in np.flatnonzero(base.cell_site == site)]}
    if task == "tradeoff":
        levels = rng.choice(np.arange(20, 50), N_LEVELS, replace=False)
        return {"power_levels_dbm": [float(x) for x in sorted(levels, reverse=True)]}
    lo = base.site_xy.min(axis=0) - 250.0
    hi = base.site_xy.max(axis=0) + 250.0
    while True:
        xy = np.round(rng.uniform(lo, hi), 1)
        if np.linalg.norm(base.site_xy - xy, axis=1).min() >= MIN_NEW_SITE_DISTANCE_M:
            return {"new_sites": [[float(xy[0]), float(xy[1])]]}


def _null_policy(task: str, base: truth.Baseline) -> dict:
    return {"power": {"tx_power_dbm": [float(p) for p in base.tx_power_dbm]},
            "shutdown": {"off_cells": []},
            "tradeoff": {"power_levels_dbm": [float(base.tx_power_dbm[0])]},
            "new_site": {"new_sites": []}}[task]


def answer(task: str, policy: dict, deterministic: bool) -> dict:
    """The ground truth of a policy, in the ``result.json`` format, computed by simran.

    Parameters
    ----------
    task : str
    policy : dict
        The ``[policy]`` table.
    deterministic : bool
        The channel of the task.

    Returns
    -------
    dict
        ``{"sinr_db": [U]}``, ``{"energy_kwh": x}`` or ``{"energy_kwh": [K], "sinr_db": [K][U]}``.
    """
    if task == "power":
        return {"sinr_db": truth.power_control_sinr_db(policy["tx_power_dbm"],
                                                       deterministic).tolist()}
    if task == "shutdown":
        return {"energy_kwh": _kwh(truth.shutdown_power_w(policy["off_cells"], deterministic))}
    if task == "tradeoff":
        points = [truth.tradeoff_point(p, deterministic) for p in policy["power_levels_dbm"]]
        return {"energy_kwh": [_kwh(w) for w, _ in points],
                "sinr_db": [s.tolist() for _, s in points]}
    if task == "new_site":
        return {"sinr_db": truth.new_site_sinr_db(policy["new_sites"], deterministic).tolist()}
    raise ValueError(f"unknown task {task!r}; valid: {', '.join(TASKS)}")


def deterministic_channel(task: str) -> bool:
    """Whether a task's network has the deterministic channel (new site only)."""
    return task == "new_site"


def make_instance(task: str, run: int) -> TaskInstance:
    """Draw instance ``run`` of ``task``, export its inputs and compute its ground truth.

    Parameters
    ----------
    task : str
        One of :data:`TASKS`.
    run : int
        Run number ≥ 0 (seed of the instance).

    Returns
    -------
    TaskInstance
    """
    if task not in TASKS:
        raise ValueError(f"unknown task {task!r}; valid: {', '.join(TASKS)}")
    det = deterministic_channel(task)
    base = truth.baseline(det)
    rng = np.random.default_rng([13, TASKS.index(task), int(run)])
    policy = _draw_policy(task, rng, base)
    null = _null_policy(task, base)
    return TaskInstance(task=task, run=int(run), policy=policy, null_policy=null,
                        truth=answer(task, policy, det), null_truth=answer(task, null, det),
                        baseline_energy_kwh=_kwh(base.cell_power_w.sum()),
                        files=export_files(base, det, policy))
