"""The radio network of a scenario: cells, their control state and the large-scale channel.

:class:`RadioNetwork` builds the topology (design §5), the carrier's PRB count (TS 38.101-1
Table 5.3.2-1), the per-PRB thermal noise, the CQI → bits-per-PRB table of one tick (TS 38.214
Tables 5.2.2.1-2…4 and 5.1.3.1-1…3), and holds the large-scale channel of every cell to every
UE: TR 38.901 sector antenna, UMa/UMi path loss with spatially consistent LOS state and shadowing
(TR 38.901 §7.4, §7.6.3). From it come RSRP (TS 38.215 §5.1.1), the SINR with interference
weighted by each cell's PRB load (radio-reference C.8), and the strongest cell.

:class:`NetworkState` is what the control surface may change (and agents observe).

The network knows nothing of UEs beyond their positions: the caller (the simulation kernel) owns
the UE arrays and the serving cells, and passes them in.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from simran.control import STATE_CODE
from simran.radio import antenna, channel, link, topology
from simran.units import db_to_lin

SPEED_OF_LIGHT_M_S = 299_792_458.0
"""c [m/s], for the wavelength λ = c / f_c of the soft LOS state."""

DEFAULT_BS_HEIGHT_M = {"UMa": 25.0, "UMi": 10.0}


@dataclass
class NetworkState:
    """What the control surface may change (and agents observe).

    The arrays are read-only and replaced, never written into, when the control surface changes
    them (copy-on-write): observations share them without copies, and the kernel recomputes
    what it derives from one (PRB budgets, powers in W) only when it is a new array.
    """

    n_cells: int
    quota_pct: np.ndarray          # [C, S] %
    tx_power_dbm: np.ndarray       # [C]
    cell_state: np.ndarray         # [C] 0 on, 1 off, 2 sleep
    intent_mbps: np.ndarray        # [S] (NaN = none)
    intent_tol_mbps: np.ndarray    # [S]

    @property
    def cell_on(self) -> np.ndarray:
        return self.cell_state == STATE_CODE["on"]


class RadioNetwork:
    """The cells of a scenario and the large-scale channel from every cell to every UE.

    Parameters
    ----------
    network : simran.scenario.NetworkConfig
        The scenario's ``[network]`` table.
    quota_pct : sequence of float
        Initial PRB quota of every slice, % (the same in every cell).
    tick_s : float
        Scheduler tick, s (the bits-per-PRB table is per tick).

    Attributes
    ----------
    topo : simran.radio.topology.Topology
    n_cells, n_slices : int
        C and S.
    n_prb : int
        PRBs of the carrier (TS 38.101-1 Table 5.3.2-1).
    bs_height_m : float
    noise_mw : float
        Thermal noise in one PRB (12 subcarriers × SCS) with the UE noise figure, mW.
    link : simran.radio.link.LinkTable
        The carrier's link tables (:func:`simran.radio.link.link_table`).
    cqi_to_mcs : ndarray [16]
        CQI → MCS index (−1 = no transmission at CQI 0).
    cqi_bits_per_prb_tick : ndarray [16]
        Bits one PRB carries in one tick at each CQI.
    state : NetworkState
        The control state (read-only arrays, replaced copy-on-write by the control surface).
    area : ndarray [2, 2]
        ``[[x_min, y_min], [x_max, y_max]]`` of the sites ± half an ISD, m.
    gain_db, gain_lin : ndarray [C, U]
        Large-scale gain antenna − path loss − shadowing (dB, linear) after
        :meth:`update_channel`.
    los : ndarray of bool [C, U]
        LOS state of every link.
    """

    def __init__(self, network, quota_pct: Sequence[float], tick_s: float):
        n = self.cfg = network
        if n.layout == "hex":
            self.topo = topology.hex_grid(n.rings, n.isd_m, sectors=n.sectors)
        elif n.layout == "hermes10":
            self.topo = topology.hermes10(n.isd_m)
            if n.sectors == 1:
                self.topo = topology.from_sites(self.topo.site_xy, sectors=1, isd_m=n.isd_m)
        else:
            xy = np.array([[s.x_m, s.y_m] for s in n.sites], dtype=float)
            self.topo = topology.from_sites(xy, sectors=n.sectors, isd_m=n.isd_m)
        C = self.n_cells = int(self.topo.cell_xy.shape[0])
        S = self.n_slices = len(quota_pct)
        # the link tables: N_PRB, CQI → MCS, bits one PRB carries in one tick (TS 38.214/38.306)
        self.link = link.link_table(n, tick_s * 1e3)
        self.n_prb = self.link.n_prb
        self.bs_height_m = n.bs_height_m or DEFAULT_BS_HEIGHT_M[n.scenario]
        # per-PRB noise: 12 subcarriers × SCS (C.8)
        self.noise_mw = float(db_to_lin(channel.thermal_noise_dbm(12 * n.scs_khz * 1e3,
                                                                  n.noise_figure_db)))
        self.cqi_to_mcs = self.link.cqi_to_mcs                          # [16] CQI → MCS (−1)
        self.cqi_bits_per_prb_tick = self.link.bits_per_prb_tick         # [16] bits per PRB
        self.state = NetworkState(
            n_cells=C,
            quota_pct=np.tile(list(quota_pct), (C, 1)).astype(float),
            tx_power_dbm=np.full(C, n.tx_power_dbm, dtype=float),
            cell_state=np.zeros(C, dtype=np.int8),
            intent_mbps=np.full(S, np.nan), intent_tol_mbps=np.zeros(S))
        st = self.state
        for a in (st.quota_pct, st.tx_power_dbm, st.cell_state, st.intent_mbps,
                  st.intent_tol_mbps):
            a.flags.writeable = False       # changed copy-on-write by the control surface only
        lo = self.topo.site_xy.min(axis=0) - n.isd_m / 2
        hi = self.topo.site_xy.max(axis=0) + n.isd_m / 2
        self.area = np.array([lo, hi])
        self._sf_field = self._los_field = None
        # first cell of every site, when every site has cells and they all stand at the site
        # (the channel is then computed per site, see update_channel); None otherwise
        site, n_sites = self.topo.cell_site, self.topo.site_xy.shape[0]
        self._site_first_cell = None
        if (np.array_equal(self.topo.cell_xy, self.topo.site_xy[site])
                and np.array_equal(np.unique(site), np.arange(n_sites))):
            self._site_first_cell = np.array([np.flatnonzero(site == k)[0]
                                              for k in range(n_sites)])
        self._co_sited = antenna.co_sited(self.topo.cell_xy)    # cells never move
        self.gain_db = self.gain_lin = self.los = None
        self._sig_key: tuple | None = None      # what sinr_db's cached serving powers are for
        self._rsrp_key: tuple | None = None     # what rsrp_dbm's cached array is for
        self._rsrp = None

    # ---------------------------------------------------------------------- channel ----------
    def init_channel(self, rng: np.random.Generator, ue_xy: np.ndarray) -> None:
        """Draw the shadowing and LOS fields (one per site) and compute the gain at ``ue_xy``.

        Parameters
        ----------
        rng : numpy.random.Generator
            The run's ``channel`` stream (every draw of the fields happens here).
        ue_xy : ndarray [U, 2]
            UE positions, m.
        """
        n = self.cfg
        n_sites = self.topo.site_xy.shape[0]
        self._sf_field = channel.CorrelatedField(
            rng, n_sites, channel.shadow_decorrelation_m(n.scenario, False))
        self._los_field = channel.CorrelatedField(
            rng, n_sites, channel.los_correlation_m(n.scenario), kernel="gaussian")
        self.gain_db = np.zeros((self.n_cells, ue_xy.shape[0]))
        self.update_channel(ue_xy)

    def update_channel(self, ue_xy: np.ndarray) -> None:
        """Recompute the large-scale gain [C, U] (antenna − path loss − shadowing) at ``ue_xy``.

        TR 38.901 Table 7.3-1 antenna pattern, Table 7.4.1-1 path loss, Table 7.4.2-1 LOS
        probability, spatially consistent LOS state and shadowing (§7.6.3).
        """
        n, topo = self.cfg, self.topo
        if ue_xy.shape[0] == 0:   # a scenario without UEs still runs (idle cells: energy only)
            self.gain_lin = np.zeros((self.n_cells, 0))
            self.los = np.zeros((self.n_cells, 0), dtype=bool)
            return
        phi, theta, d2d, _ = antenna.angles(topo.cell_xy, topo.cell_azimuth_deg, self.bs_height_m,
                                            ue_xy, n.ue_height_m, self._co_sited,
                                            with_d3d=False)
        if n.antenna.model == "omni" or n.sectors == 1:
            g_ant = np.full(phi.shape, n.antenna.max_gain_dbi if n.antenna.model != "omni"
                            else 0.0)
        else:
            g_ant = antenna.sector_gain_dbi(phi, theta, n.antenna.downtilt_deg,
                                            n.antenna.max_gain_dbi, n.antenna.hpbw_deg,
                                            n.antenna.hpbw_deg)
        site = topo.cell_site
        first = self._site_first_cell
        if first is not None:
            # the cells of a site stand at its position: distance, LOS state, path loss and
            # shadowing are the same for all of them, so they are computed per site (the same
            # operations on the same numbers) and expanded to the cells
            d2d, field_rows = d2d[first], slice(None)
        else:
            field_rows = site
        soft = None
        if n.los_model == "probabilistic":
            p = channel.los_probability(n.scenario, d2d, n.ue_height_m)
            x = self._los_field.sample(ue_xy)[field_rows]
            los = channel.los_from_field(x, p)
            if n.los_soft:
                soft = channel.soft_los_state(x, p, SPEED_OF_LIGHT_M_S / (n.carrier_ghz * 1e9))
        else:
            los = np.full(d2d.shape, n.los_model == "los")
        if soft is not None:
            pl, sf = self._soft_loss_db(soft, d2d, ue_xy, field_rows)
        else:
            pl = channel.pathloss_db(n.scenario, los, d2d, n.carrier_ghz, self.bs_height_m,
                                     n.ue_height_m)
            sf = 0.0
            if n.shadowing:
                sf = (self._sf_field.sample(ue_xy)[field_rows]
                      * channel.shadow_sigma_db(n.scenario, los))
        if first is not None:
            los, pl = los[site], pl[site]
            if n.shadowing and soft is None:      # the soft path folds shadowing into pl
                sf = sf[site]
        self.gain_db = g_ant - pl - sf
        self.gain_lin = db_to_lin(self.gain_db)
        self.los = los
        for a in (self.gain_db, self.gain_lin, self.los):
            a.flags.writeable = False       # replaced, never changed (sinr_db caches on them)

    def _soft_loss_db(self, soft, d2d, ue_xy, field_rows):
        """Path loss and shadowing [dB] blended by the soft LOS state (``los_soft``).

        The LOS and NLOS losses of a link (each its own path loss, Table 7.4.1-1, and shadowing
        σ_SF on the same field) are weighted in dB, L = s·L_LOS + (1 − s)·L_NLOS — the form of
        the LOS-probability-weighted path loss PL = P_LOS·PL_LOS + (1 − P_LOS)·PL_NLOS [dB] used
        in system-level practice, with the spatially consistent soft state s (TR 38.901
        §7.6.3.3) in place of P_LOS. TR 38.901 uses s to combine the LOS and NLOS *channels*
        of a link in transition; a blend of large-scale losses is simran's simplification (no
        small-scale channel here). Not a power blend: the arctan's slow tails leave s ≈ 0.02
        on typical NLOS links, and 2 % of a 20 dB stronger LOS power would lift them by ~5 dB;
        in dB it is 0.4 dB. Returned as one loss (``pl``) and zero shadowing.
        """
        n = self.cfg
        pl_l = channel.pathloss_db(n.scenario, True, d2d, n.carrier_ghz, self.bs_height_m,
                                   n.ue_height_m)
        pl_n = channel.pathloss_db(n.scenario, False, d2d, n.carrier_ghz, self.bs_height_m,
                                   n.ue_height_m)
        if n.shadowing:
            f = self._sf_field.sample(ue_xy)[field_rows]
            pl_l = pl_l + f * channel.shadow_sigma_db(n.scenario, True)
            pl_n = pl_n + f * channel.shadow_sigma_db(n.scenario, False)
        return soft * pl_l + (1.0 - soft) * pl_n, 0.0

    # ---------------------------------------------------------------------- measurements -----
    def tx_per_prb_mw(self) -> np.ndarray:
        """Transmit power per PRB [mW], 0 for cells that are off: P_tx − 10·log10(N_PRB)."""
        p = db_to_lin(self.state.tx_power_dbm - 10 * np.log10(self.n_prb))
        return np.where(self.state.cell_on, p, 0.0)

    def rsrp_dbm(self) -> np.ndarray:
        """RSRP [dBm] of every cell at every UE, [C, U]: power per RE + gain (TS 38.215 §5.1.1).

        Cells that are not on have −inf. The array is read-only: it is computed again only
        when the powers, cell states or gains are new arrays (they are replaced, never written
        into, when they change — the channel at the mobility period, the measurements come
        more often), and the same array is returned until then.
        """
        st = self.state
        key = (st.tx_power_dbm, st.cell_state, self.gain_db)
        old = self._rsrp_key
        if old is not None and all(a is b for a, b in zip(key, old)):
            return self._rsrp
        per_re = st.tx_power_dbm - 10 * np.log10(12 * self.n_prb)
        r = per_re[:, None] + self.gain_db
        r = np.where(st.cell_on[:, None], r, -np.inf)
        r.flags.writeable = False
        # cached only on read-only inputs (a writable one could change behind the cache)
        cache = not any(a.flags.writeable for a in key)
        self._rsrp_key, self._rsrp = (key, r) if cache else (None, None)
        return r

    def best_cell(self, pinned: np.ndarray | None = None,
                  pinned_cell: np.ndarray | None = None) -> np.ndarray:
        """Strongest-RSRP cell of every UE, [U] int64.

        Parameters
        ----------
        pinned : ndarray of bool [U], optional
            UEs attached to a fixed cell (trace UEs) instead of the strongest one.
        pinned_cell : ndarray of int [U], optional
            Their cell (read where ``pinned``).
        """
        n_ues = self.gain_db.shape[1]
        best = np.argmax(self.rsrp_dbm(), axis=0) if n_ues else np.zeros(0, dtype=np.int64)
        if pinned is not None:
            best = np.where(pinned, pinned_cell, best)
        return best.astype(np.int64)

    def sinr_db(self, serving: np.ndarray, load: np.ndarray,
                fading: np.ndarray | None = None) -> np.ndarray:
        """Per-UE SINR [dB] with interference weighted by each cell's PRB load.

        SINR_u = h_u P_c G_cu / (Σ_{j≠c} P_j ℓ_j G_ju + N)  (radio-reference C.8), per PRB.

        Parameters
        ----------
        serving : ndarray of int [U]
            Serving cell c of every UE.
        load : ndarray [C]
            PRB activity ℓ_j of every cell, 0..1.
        fading : ndarray [U], optional
            Power gain h_u of the serving link (1 without fast fading).
        """
        st, gain = self.state, self.gain_lin
        key = self._sig_key
        if (key is None or key[0] is not st.tx_power_dbm or key[1] is not st.cell_state
                or key[2] is not gain or key[3] is not serving):
            # what changes only with the powers, cell states, channel or serving cells (all
            # replaced, never written into): the same products as P_c · G_cu of the full
            # [C, U] matrix, taken on the serving links only
            p = self.tx_per_prb_mw()                                  # [C]
            sig = p[serving] * gain[serving, np.arange(serving.shape[0])]
            self._sig_key = (st.tx_power_dbm, st.cell_state, gain, serving)
            self._sig = (p, sig, bool((sig > 0).all()))
        p, sig, sig_pos = self._sig
        interf = (p * load) @ gain - sig * load[serving]
        if fading is not None:
            sig = sig * fading
        if sig_pos and fading is None:    # no log10(0): the same numbers without errstate
            return 10 * np.log10(sig / (np.maximum(interf, 0.0) + self.noise_mw))
        with np.errstate(divide="ignore"):
            return 10 * np.log10(sig / (np.maximum(interf, 0.0) + self.noise_mw))
