"""Expert blocks: the repository of expert-designed models the generated code may call.

papers/000 §IV-C gives Hermes "a repository of expert-designed white-box models" that the designer
can put into a blueprint; Table II varies how many there are (0–5). These are simran's own radio
functions behind small, documented signatures. The prompt shows each selected block's signature
and docstring (:func:`describe`), and the sandbox publishes the selected ones — and only those —
as the module ``blocks`` (``from blocks import sinr_db``); see :mod:`agents.twin.sandbox`.

Array conventions: RSRP matrices are ``[U, C]`` (a row per UE, a column per cell — the layout
of ``rsrp_dbm.csv`` without its ``ue_id`` column); powers in dBm, energies in W.
"""

from __future__ import annotations

import inspect

import numpy as np

from simran.radio import antenna, channel, energy, topology

SECTOR_AZIMUTHS_DEG = (30.0, 150.0, 270.0)


def shift_rsrp_dbm(rsrp_dbm, old_power_dbm, new_power_dbm):
    """RSRP after a transmit-power change: RSRP moves dB for dB with the power.

    Parameters
    ----------
    rsrp_dbm : array [U, C], measured RSRP per resource element [dBm].
    old_power_dbm, new_power_dbm : array [C] or float, transmit power before/after [dBm].

    Returns
    -------
    array [U, C], RSRP [dBm] = rsrp_dbm + (new - old).
    """
    delta = np.asarray(new_power_dbm, float) - np.asarray(old_power_dbm, float)
    return np.asarray(rsrp_dbm, float) + delta


def switch_off_cells(rsrp_dbm, off_cells):
    """Switch cells off: their RSRP becomes -inf (no signal, no interference).

    Parameters
    ----------
    rsrp_dbm : array [U, C], RSRP [dBm].
    off_cells : list of int, cell ids (column indices) switched off.

    Returns
    -------
    (rsrp_dbm [U, C] with -inf columns, active [C] bool: True for cells still on).
    """
    r = np.array(rsrp_dbm, dtype=float, copy=True)
    active = np.ones(r.shape[1], dtype=bool)
    active[np.asarray(list(off_cells), dtype=int)] = False
    r[:, ~active] = -np.inf
    return r, active


def associate_strongest(rsrp_dbm):
    """Serving cell of each UE: the cell of strongest RSRP (argmax over cells).

    Parameters
    ----------
    rsrp_dbm : array [U, C], RSRP [dBm] (-inf for cells that are off).

    Returns
    -------
    array [U] of int, serving cell id of each UE.
    """
    return np.argmax(np.asarray(rsrp_dbm, float), axis=1).astype(int)


def sinr_db(rsrp_dbm, serving, scs_khz, noise_figure_db):
    """Full-load SINR: serving RSRP / (sum of other cells' RSRP + noise per RE), in linear mW.

    Noise per resource element = -174 dBm/Hz + 10 log10(scs_khz * 1e3) + noise_figure_db
    (simran.radio.channel.thermal_noise_dbm). Cells that are off must have RSRP -inf.

    Parameters
    ----------
    rsrp_dbm : array [U, C], RSRP per resource element [dBm].
    serving : array [U] of int, serving cell of each UE.
    scs_khz : float, subcarrier spacing [kHz].
    noise_figure_db : float, UE noise figure [dB].

    Returns
    -------
    array [U], SINR [dB].
    """
    r_mw = 10.0 ** (np.asarray(rsrp_dbm, float) / 10.0)
    u = np.arange(r_mw.shape[0])
    sig = r_mw[u, np.asarray(serving, int)]
    noise_mw = 10.0 ** (float(channel.thermal_noise_dbm(scs_khz * 1e3, noise_figure_db)) / 10.0)
    return 10.0 * np.log10(sig / (r_mw.sum(axis=1) - sig + noise_mw))


def earth_power_w(tx_power_dbm, load, on):
    """EARTH input power of each cell [W] (macro: 2 TRX per cell, P0 130 W, slope 4.7, sleep
    75 W per TRX): n*(P0 + dp*P_out) when on, P_out = tx [W] / n * load; n*P_sleep when off.

    Parameters
    ----------
    tx_power_dbm : array [C], transmit power [dBm].
    load : array [C], PRB load in [0, 1] (1 if the cell serves a UE under full buffer).
    on : array [C] of bool, False for cells switched off.

    Returns
    -------
    array [C], input power [W] (sum it for the network; W * 1 h / 1000 = kWh).
    """
    tx_w = 10.0 ** ((np.asarray(tx_power_dbm, float) - 30.0) / 10.0)
    return energy.cell_power_w(np.clip(load, 0.0, 1.0), tx_w, np.asarray(on, bool), "macro", 3)


def rsrp_geometry_dbm(cell_xy, azimuth_deg, tx_power_dbm, ue_xy, n_prb, bs_height_m=25.0,
                      ue_height_m=1.5, carrier_ghz=3.5, downtilt_deg=6.0):
    """RSRP [dBm] from geometry: power per RE + TR 38.901 sector gain - UMa NLOS path loss.

    RSRP = tx_power_dbm - 10 log10(12 n_prb) + G(azimuth off boresight, zenith, downtilt;
    8 dBi, 65 deg) - PL_UMa,NLOS(d_3D) (no shadowing): what the deterministic channel measures.

    Parameters
    ----------
    cell_xy : array [C, 2], cell positions [m].
    azimuth_deg : array [C], boresight azimuths [deg, counter-clockwise from +x].
    tx_power_dbm : array [C] or float, transmit power [dBm].
    ue_xy : array [U, 2], UE positions [m].
    n_prb : int, PRBs of the carrier.

    Returns
    -------
    array [U, C], RSRP per resource element [dBm].
    """
    phi, theta, d2d, _ = antenna.angles(cell_xy, azimuth_deg, bs_height_m, ue_xy, ue_height_m)
    gain = antenna.sector_gain_dbi(phi, theta, downtilt_deg)
    pl = channel.pathloss_db("UMa", False, d2d, carrier_ghz, bs_height_m, ue_height_m)
    per_re = np.asarray(tx_power_dbm, float) - 10.0 * np.log10(12 * n_prb)
    # [C, U] -> [U, C]
    return (np.reshape(per_re, (-1, 1)) + gain - pl).T


def add_site(cell_xy, azimuth_deg, x_m, y_m):
    """Append a tri-sectorised site (azimuths 30, 150, 270 deg) to the cell list.

    Parameters
    ----------
    cell_xy : array [C, 2], existing cell positions [m].
    azimuth_deg : array [C], existing boresights [deg].
    x_m, y_m : float, position of the new site [m].

    Returns
    -------
    (cell_xy [C+3, 2], azimuth_deg [C+3], new_cell_ids list of 3 int).
    """
    new = topology.from_sites([[x_m, y_m]], sectors=3, boresights_deg=SECTOR_AZIMUTHS_DEG)
    c = np.asarray(cell_xy, float).reshape(-1, 2)
    ids = list(range(c.shape[0], c.shape[0] + new.n_cells))
    return (np.vstack([c, new.cell_xy]),
            np.concatenate([np.asarray(azimuth_deg, float), new.cell_azimuth_deg]), ids)


REGISTRY = {f.__name__: f for f in (shift_rsrp_dbm, switch_off_cells, associate_strongest,
                                     sinr_db, earth_power_w, rsrp_geometry_dbm, add_site)}
"""Every expert block by name."""

RANKED = {
    "power": ("shift_rsrp_dbm", "associate_strongest", "sinr_db", "switch_off_cells",
              "earth_power_w", "rsrp_geometry_dbm", "add_site"),
    "shutdown": ("switch_off_cells", "earth_power_w", "associate_strongest", "sinr_db",
                 "shift_rsrp_dbm", "rsrp_geometry_dbm", "add_site"),
    "tradeoff": ("earth_power_w", "shift_rsrp_dbm", "sinr_db", "associate_strongest",
                 "switch_off_cells", "rsrp_geometry_dbm", "add_site"),
    "new_site": ("rsrp_geometry_dbm", "add_site", "associate_strongest", "sinr_db",
                 "shift_rsrp_dbm", "switch_off_cells", "earth_power_w"),
}
"""Per task, the blocks in order of usefulness: ``--blocks k`` selects the first k."""


def select(task: str, blocks) -> tuple[str, ...]:
    """The block names a run may use.

    Parameters
    ----------
    task : str
        Task key.
    blocks : int or str or sequence of str
        ``k`` (0–7: the first k of :data:`RANKED` for the task), ``"all"``, ``"none"``, a
        comma-separated string or a sequence of block names.

    Returns
    -------
    tuple of str

    Raises
    ------
    ValueError
        Unknown block name or k outside [0, 7].
    """
    if isinstance(blocks, str):
        text = blocks.strip()
        if text == "all":
            return RANKED[task]
        if text in ("", "none"):
            return ()
        if text.isdigit():
            blocks = int(text)
        else:
            blocks = [b.strip() for b in text.split(",") if b.strip()]
    if isinstance(blocks, int):
        if not 0 <= blocks <= len(REGISTRY):
            raise ValueError(f"--blocks {blocks}: expected 0..{len(REGISTRY)}")
        return RANKED[task][:blocks]
    unknown = [b for b in blocks if b not in REGISTRY]
    if unknown:
        raise ValueError(f"unknown block(s) {unknown}; known: {', '.join(REGISTRY)}")
    return tuple(blocks)


def _returns_line(doc: str) -> str:
    lines = doc.splitlines()
    for i, line in enumerate(lines):
        if line.strip() == "Returns" and i + 2 < len(lines):
            return lines[i + 2].strip()
    return ""


def describe(names, compact: bool = False) -> str:
    """The prompt text of the selected blocks.

    Parameters
    ----------
    names : sequence of str
        Selected blocks.
    compact : bool
        ``False``: signature and whole docstring of each block. ``True`` (small contexts such as
        the embedded model's 2048 tokens): signature, the docstring's summary line and its
        ``Returns`` line.

    Returns
    -------
    str
    """
    if not names:
        return "No expert blocks are available: write every model yourself (numpy, pandas)."
    parts = ["Expert blocks (import them: from blocks import <name>):"]
    for name in names:
        f = REGISTRY[name]
        sig = str(inspect.signature(f))
        doc = inspect.cleandoc(f.__doc__ or "")
        if compact:
            summary = doc.split("\n\n")[0].replace("\n", " ")
            parts.append(f"- {name}{sig}: {summary} Returns {_returns_line(doc)}")
        else:
            parts.append(f"def {name}{sig}:\n    " + doc.replace("\n", "\n    "))
    return "\n".join(parts)
