"""Base-station power consumption: the EARTH model (Auer et al., IEEE Wireless Commun. 2011).

Radio-reference C.12. Input power of a base station with N_TRX transceiver chains:

.. math::
    P_{in} = N_{TRX} (P_0 + \\Delta_p P_{out}) \\quad 0 < P_{out} \\le P_{max}, \\qquad
    P_{in} = N_{TRX} P_{sleep} \\quad P_{out} = 0 \\ (\\text{sleep})

with P_out the RF output power per TRX. The bracketed form is used (not N·P0 + Δp·P_out, a bug
seen in one public implementation). simran applies it per cell (sector): a site's N_TRX chains
are split evenly over its sectors (macro: 6 TRX = 3 sectors × 2 antennas → 2 TRX per cell), and
the load (PRB occupancy) scales the output power, P_out = P_tx,cell / N_TRX,cell · load.
An "on" cell at zero load draws the idle power N·P_0 (the P_out → 0⁺ limit); only an "off"
(sleeping) cell draws N·P_sleep.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from simran.errors import SimranError


class EnergyError(SimranError, ValueError):
    """Unknown base-station type or invalid power-model input."""


@dataclass(frozen=True)
class EarthParams:
    """EARTH parameters of one base-station type (Auer et al. 2011, Table 2; C.12).

    Attributes
    ----------
    n_trx : int
        Transceiver chains per **site** N_TRX.
    p_max_w : float
        Maximum RF output power per TRX P_max (W).
    p0_w : float
        Power at the minimum non-zero output P_0 (W, per TRX).
    delta_p : float
        Slope of the load-dependent power Δ_p (dimensionless).
    p_sleep_w : float
        Sleep-mode power per TRX P_sleep (W).
    """

    n_trx: int
    p_max_w: float
    p0_w: float
    delta_p: float
    p_sleep_w: float


BS_TYPES: dict[str, EarthParams] = {
    "macro": EarthParams(n_trx=6, p_max_w=20.0, p0_w=130.0, delta_p=4.7, p_sleep_w=75.0),
    "rrh": EarthParams(n_trx=6, p_max_w=20.0, p0_w=84.0, delta_p=2.8, p_sleep_w=56.0),
    "micro": EarthParams(n_trx=2, p_max_w=6.3, p0_w=56.0, delta_p=2.6, p_sleep_w=39.0),
    "pico": EarthParams(n_trx=2, p_max_w=0.13, p0_w=6.8, delta_p=4.0, p_sleep_w=4.3),
    "femto": EarthParams(n_trx=2, p_max_w=0.05, p0_w=4.8, delta_p=8.0, p_sleep_w=2.9),
}
"""EARTH base-station types (C.12)."""


def bs_params(bs_type: str = "macro") -> EarthParams:
    """Return the EARTH parameters of a base-station type (``macro, rrh, micro, pico, femto``)."""
    try:
        return BS_TYPES[bs_type]
    except KeyError:
        raise EnergyError(f"unknown bs_type {bs_type!r}; valid: {', '.join(BS_TYPES)}") from None


def cell_power_w(load, tx_power_w, on, bs_type: str = "macro",
                 sectors_per_site: int = 3) -> np.ndarray:
    """Input (mains) power of each cell by the EARTH model, in W (radio-reference C.12).

    Parameters
    ----------
    load : array_like, shape [C]
        PRB occupancy in [0, 1].
    tx_power_w : array_like, shape [C]
        Total RF transmit power of the cell at full load, W (e.g. 40 W = 46 dBm).
    on : array_like of bool, shape [C]
        False = the cell sleeps / is shut down.
    bs_type : {"macro", "rrh", "micro", "pico", "femto"}
    sectors_per_site : int
        Cells per site; each cell holds N_TRX / sectors_per_site TRX (macro, 3 → 2).

    Returns
    -------
    ndarray of float, shape [C] (W)
        n·(P_0 + Δ_p·P_out) when on, n·P_sleep when off, with n TRX per cell and
        P_out = tx_power_w / n · load per TRX.

    Raises
    ------
    EnergyError (a ValueError)
        Unknown ``bs_type``, load outside [0, 1], negative power or sectors_per_site < 1.
    """
    params = bs_params(bs_type)
    load = np.asarray(load, dtype=float)
    tx = np.asarray(tx_power_w, dtype=float)
    if sectors_per_site < 1:
        raise EnergyError(f"sectors_per_site must be ≥ 1 (got {sectors_per_site})")
    if np.any((load < 0.0) | (load > 1.0 + 1e-9)):
        raise EnergyError(f"load must lie in [0, 1] (got min {load.min()}, max {load.max()})")
    if np.any(tx < 0.0):
        raise EnergyError(f"tx_power_w must be ≥ 0 (got min {tx.min()})")
    n_trx_cell = params.n_trx / sectors_per_site
    p_out_w = tx / n_trx_cell * load
    p_on_w = n_trx_cell * (params.p0_w + params.delta_p * p_out_w)
    return np.where(np.asarray(on, dtype=bool), p_on_w, n_trx_cell * params.p_sleep_w)


class CellPowerModel:
    """The EARTH model of :func:`cell_power_w` with its constants resolved once (the tick's path).

    :func:`cell_power_w` validates its inputs on every call; the kernel calls this instead every
    tick with inputs it produced itself (load = used PRBs / N_PRB clipped to [0, 1], powers the
    control surface validated), so the arithmetic is the same — the same expression in the same
    order, hence bit-identical results (tested) — without the checks.

    Parameters
    ----------
    bs_type : {"macro", "rrh", "micro", "pico", "femto"}
    sectors_per_site : int
        Cells per site (≥ 1).
    """

    def __init__(self, bs_type: str = "macro", sectors_per_site: int = 3):
        if sectors_per_site < 1:
            raise EnergyError(f"sectors_per_site must be ≥ 1 (got {sectors_per_site})")
        self.params = p = bs_params(bs_type)
        self.n_trx_cell = p.n_trx / sectors_per_site
        self.p_sleep_w = self.n_trx_cell * p.p_sleep_w

    def prepare(self, tx_power_w: np.ndarray, on: np.ndarray) -> None:
        """Take the cells' transmit powers [W] and on/off state (call when they change)."""
        self._tx_per_trx = tx_power_w / self.n_trx_cell
        self._on = on
        self._all_on = bool(on.all())

    def power_w(self, load: np.ndarray) -> np.ndarray:
        """Input power of each cell [W], shape [C], at PRB load ``load`` [0, 1] with the powers
        and states of the last :meth:`prepare` (see :func:`cell_power_w`; no validation)."""
        p, n = self.params, self.n_trx_cell
        on_w = n * (p.p0_w + p.delta_p * (self._tx_per_trx * load))
        return on_w if self._all_on else np.where(self._on, on_w, self.p_sleep_w)
