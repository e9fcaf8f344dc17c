"""Block errors, HARQ with chase combining and outer-loop link adaptation (an option).

With ``[network.link] bler = true`` every transport block (one per scheduled UE per tick) is
received or lost by a draw from the named stream ``"harq"``; a lost block is retransmitted
``harq_rtt_ticks`` later, up to ``harq_max_tx`` transmissions in all, and an outer loop (OLLA)
moves a per-UE SINR offset so that the first-transmission BLER settles at ``bler_target``.
With ``bler = false`` (the default) nothing here is built and the kernel is unchanged.

BLER model (a documented approximation, **not** a link-level curve)
--------------------------------------------------------------------
TS 38.214 §5.2.2.1 defines CQI *c* as the highest index whose modulation and code rate a UE can
receive with a transport-block error probability ≤ 0.1 (radio-reference C.1). The SINR→CQI
tables of the kernel (radio-reference C.4: C.4b "nr_mathworks", the MathWorks 90 % throughput
thresholds; C.4a "lte_fan", quoted for 10 % BLER; C.4c the analytic gap rule, inverted) give,
for each CQI, the SINR threshold ``θ_c`` [dB] at which that CQI starts. The MCS a CQI maps to
(C.3 rule 1) has the CQI's spectral efficiency, so ``θ_c`` is read as the SINR at which the
MCS of CQI *c* has a BLER of 10 %, and the BLER around it is a logistic in dB:

.. math:: \\mathrm{BLER}_c(s) = \\frac{1}{1 + 9\\, e^{a (s - θ_c)}}

(BLER(θ_c) = 0.1 exactly; ``a`` = ``bler_slope_per_db``, default 2 dB⁻¹, so BLER goes from
0.9 to 0.01 over 6.8/a ≈ 3.4 dB — a round number chosen to resemble the steep waterfall of
LDPC codes on AWGN, not fitted to any link-level result). CQI 0 / MCS −1 means no transmission.

Effective SINR ``s``: the serving-link SINR of the tick (with block Rayleigh fading if that is
on) for a geometric UE; for a trace-driven UE, which has a CQI but no SINR, the threshold
``θ_c`` of its reported CQI (so it sees BLER 0.1 at the MCS of its CQI, and more or less as the
OLLA offset moves it up or down).

HARQ (chase combining): a retransmission repeats the same block at the same MCS; the SINR used
for the BLER of transmission *n* is the linear sum of the SINRs of transmissions 1..n. Each
transmission's outcome is an independent draw with the BLER of the combined SINR (the usual
system-level abstraction). A retransmission takes the UE's scheduled PRBs of the tick it falls
due in (no new data in that tick); if the UE is not scheduled then, it waits another RTT.
Delay of a block delivered at transmission *n*: ``(n − 1) · harq_rtt_ticks`` ticks.

OLLA: the MCS is chosen from ``s − Δ`` (the CQI threshold table again), Δ [dB] per UE; after
each first transmission Δ += step_up on a NACK and Δ −= step_down on an ACK with
``step_down = step_up · BLER_t / (1 − BLER_t)``, so the expected change is 0 exactly when the
first-transmission BLER equals BLER_t (a stationary offset needs P(NACK)·up = P(ACK)·down).
Δ is clipped to ±``OLLA_LIMIT_DB``. HARQ state and Δ stay with the UE across handovers.
"""

from __future__ import annotations

import numpy as np

from simran.radio import nr_tables

OLLA_LIMIT_DB = 20.0
"""|Δ| bound of the OLLA offset [dB]."""

BLER_AT_THRESHOLD = 0.1
"""BLER at a CQI's SINR threshold (TS 38.214 §5.2.2.1: CQI = TB error probability ≤ 0.1)."""

_ODDS = (1.0 - BLER_AT_THRESHOLD) / BLER_AT_THRESHOLD    # 9: BLER = 1/(1 + 9·e^{a(s−θ)})


def cqi_sinr_thresholds_db(mapping: str) -> np.ndarray:
    """SINR [dB] at which each CQI 1..15 starts, shape [15] (radio-reference C.4).

    Threshold tables (C.4a/b) are returned as they are; for ``"analytic"`` (C.4c) the rule
    SE = log2(1 + SINR/Γ) > efficiency_c is inverted: θ_c = 10·log10(Γ·(2^{eff_c} − 1)).
    """
    if mapping == "analytic":
        from simran.radio.link import analytic_gap_lin

        eff = nr_tables.CQI_TABLES["table1"][1:, 2]
        return 10.0 * np.log10(analytic_gap_lin() * (2.0 ** eff - 1.0))
    return np.asarray(nr_tables.lookup(nr_tables.SINR_CQI_THRESHOLDS_DB, mapping,
                                       "SINR→CQI mapping"), dtype=float)


def bler(sinr_db, threshold_db, slope_per_db: float = 2.0) -> np.ndarray:
    """Block error rate of a transport block, logistic in dB around the MCS's 10 % point.

    Parameters
    ----------
    sinr_db : float or array_like
        Effective SINR [dB] (−inf → BLER 1).
    threshold_db : float or array_like
        θ_c [dB], the SINR at which the MCS has BLER 0.1 (the CQI threshold, module notes).
    slope_per_db : float
        a [1/dB].

    Returns
    -------
    ndarray of float in [0, 1]
        1 / (1 + 9·exp(a·(s − θ))).
    """
    x = slope_per_db * (np.asarray(sinr_db, dtype=float) - np.asarray(threshold_db))
    with np.errstate(over="ignore", invalid="ignore"):
        return 1.0 / (1.0 + _ODDS * np.exp(np.minimum(x, 700.0)))


class LinkAdaptation:
    """Per-UE block errors, HARQ processes and OLLA offsets of one run.

    Parameters
    ----------
    cfg : simran.scenario.LinkConfig
        ``harq_max_tx``, ``harq_rtt_ticks``, ``olla``, ``bler_target``, ``olla_step_up_db``,
        ``bler_slope_per_db``.
    n_ue : int
    thresholds_db : ndarray, shape [15]
        CQI 1..15 SINR thresholds [dB] (:func:`cqi_sinr_thresholds_db`).
    rng : numpy.random.Generator
        The run's ``"harq"`` stream (one uniform per UE per tick, drawn whatever happens, so
        the stream's use does not depend on the outcomes).
    """

    def __init__(self, cfg, n_ue: int, thresholds_db: np.ndarray, rng: np.random.Generator):
        self.max_tx = int(cfg.harq_max_tx)
        self.rtt = int(cfg.harq_rtt_ticks)
        self.olla = bool(cfg.olla)
        self.target = float(cfg.bler_target)
        self.step_up = float(cfg.olla_step_up_db)
        self.step_down = self.step_up * self.target / (1.0 - self.target)
        self.slope = float(cfg.bler_slope_per_db)
        self.thr = np.asarray(thresholds_db, dtype=float)
        # θ per CQI index 0..15 (CQI 0: no transmission, never used for a BLER)
        self.thr16 = np.concatenate([[np.inf], self.thr])
        self.rng = rng
        self.U = n_ue
        self.delta_db = np.zeros(n_ue)
        # HARQ ring: slot k mod RTT holds what falls due at tick k
        shape = (self.rtt, n_ue)
        self.h_ntx = np.zeros(shape, dtype=np.int64)       # transmissions so far (0 = empty)
        self.h_bits = np.zeros(shape)                      # block size [bit]
        self.h_acc = np.zeros(shape)                       # combined SINR, linear
        self.h_cqi = np.zeros(shape, dtype=np.int64)       # CQI (→ MCS) of the block
        self.k = 0
        # counters (summary)
        self.n_first = 0
        self.n_first_err = 0
        self.n_tx = 0
        self.n_blocks_done = 0          # blocks delivered or dropped
        self.n_dropped = 0              # blocks lost after harq_max_tx transmissions
        self.delay_ticks_sum = 0        # Σ (n − 1)·RTT over delivered blocks
        self.n_delivered = 0
        self.bits_delivered = 0.0
        self.bits_first = 0.0           # bits of the blocks sent for the first time

    def trace_sinr_db(self, cqi: np.ndarray) -> np.ndarray:
        """Effective SINR [dB] of a UE that reports ``cqi`` and has no SINR: θ_cqi (−inf at 0)."""
        return np.where(cqi > 0, self.thr16[np.maximum(cqi, 0)], -np.inf)

    def select_cqi(self, sinr_db: np.ndarray, cqi: np.ndarray) -> np.ndarray:
        """The CQI (→ MCS, C.3) a block is sent with: the CQI of ``sinr − Δ`` with OLLA,
        ``cqi`` unchanged without; 0 stays 0 (no transmission)."""
        if not self.olla:
            return cqi
        sel = np.searchsorted(self.thr, sinr_db - self.delta_db, side="right")
        return np.where(cqi > 0, sel, 0)

    def step(self, prb: np.ndarray, tx_bits: np.ndarray, sinr_db: np.ndarray,
             cqi_sel: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """One tick: transmit, draw block errors, keep failed blocks for retransmission.

        Parameters
        ----------
        prb : ndarray [U]
            PRBs scheduled to each UE this tick.
        tx_bits : ndarray [U]
            Size [bit] of the new block each scheduled UE would send.
        sinr_db : ndarray [U]
            Effective SINR [dB] of this tick.
        cqi_sel : ndarray [U]
            CQI the new block is sent with (:meth:`select_cqi`).

        Returns
        -------
        delivered : ndarray [U]
            Bits received correctly this tick (a new block or a retransmitted one).
        new_bits : ndarray [U]
            Bits of new blocks sent this tick (what leaves a demand-limited buffer).
        """
        slot = self.k % self.rtt
        self.k += 1
        ntx_old = self.h_ntx[slot]
        sched = prb > 0
        pend = ntx_old > 0
        retx = pend & sched
        new = sched & ~pend & (tx_bits > 0)
        tx = retx | new
        with np.errstate(divide="ignore", over="ignore"):
            s_lin = np.power(10.0, sinr_db / 10.0)
        acc = np.where(retx, self.h_acc[slot] + s_lin, s_lin)
        cq = np.where(retx, self.h_cqi[slot], cqi_sel)
        tb = np.where(retx, self.h_bits[slot], tx_bits)
        n = np.where(retx, ntx_old + 1, 1)
        with np.errstate(divide="ignore"):
            p = bler(10.0 * np.log10(acc), self.thr16[cq], self.slope)
        u = self.rng.random(self.U)
        err = tx & (u < p)
        ok = tx & ~err
        delivered = np.where(ok, tb, 0.0)
        new_bits = np.where(new, tx_bits, 0.0)
        if self.olla:
            d = self.delta_db
            d[new & err] += self.step_up
            d[new & ~err] -= self.step_down
            np.clip(d, -OLLA_LIMIT_DB, OLLA_LIMIT_DB, out=d)
        keep = err & (n < self.max_tx)
        wait = pend & ~sched
        self.h_ntx[slot] = np.where(keep, n, np.where(wait, ntx_old, 0))
        self.h_bits[slot] = np.where(keep, tb, self.h_bits[slot])
        self.h_acc[slot] = np.where(keep, acc, self.h_acc[slot])
        self.h_cqi[slot] = np.where(keep, cq, self.h_cqi[slot])
        # counters
        self.n_first += int(new.sum())
        self.n_first_err += int((new & err).sum())
        self.n_tx += int(tx.sum())
        dropped = err & ~keep
        self.n_dropped += int(dropped.sum())
        self.n_delivered += int(ok.sum())
        self.n_blocks_done += int(ok.sum() + dropped.sum())
        self.delay_ticks_sum += int(((n - 1) * self.rtt)[ok].sum())
        self.bits_delivered += float(delivered.sum())
        self.bits_first += float(new_bits.sum())
        return delivered, new_bits

    def summary(self, tick_ms: float) -> dict[str, float]:
        """Run-level link KPIs (only written when the option is on); ``tick_ms`` [ms]."""
        nf, nb = max(self.n_first, 1), max(self.n_blocks_done, 1)
        return {
            "link.bler_first_tx": self.n_first_err / nf,
            "link.bler_residual": self.n_dropped / nb,
            "link.tx_per_block": self.n_tx / nf,
            "link.harq_delay_ms_mean": tick_ms * self.delay_ticks_sum / max(self.n_delivered, 1),
            "link.olla_offset_db_mean": float(self.delta_db.mean()) if self.U else 0.0,
        }
