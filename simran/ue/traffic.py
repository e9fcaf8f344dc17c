"""Traffic models: how many bits each UE wants in a tick.

* ``full_buffer`` — the UE always has data (demand = +inf);
* ``cbr`` — constant bit rate: ``cbr_mbps · tick`` bits arrive at the start of every tick into a
  buffer that holds at most ``buffer_s`` seconds of traffic; arrivals beyond it are dropped and
  counted (a UE that is never served does not accumulate an unbounded backlog).
"""

from __future__ import annotations

import numpy as np


class Traffic:
    """Vectorised per-UE demand.

    Parameters
    ----------
    full_buffer : ndarray of bool, shape [U]
    cbr_bps : ndarray of float, shape [U]
        Arrival rate of CBR UEs [bit/s] (ignored for full-buffer UEs).
    tick_s : float
        Scheduler tick [s].
    buffer_s : float
        Buffer size of CBR UEs in seconds of traffic.
    """

    def __init__(self, full_buffer: np.ndarray, cbr_bps: np.ndarray, tick_s: float,
                 buffer_s: float = 1.0):
        self.full_buffer = np.asarray(full_buffer, dtype=bool)
        self.arrival_bits = np.where(self.full_buffer, 0.0, np.asarray(cbr_bps) * tick_s)
        self.cap_bits = np.where(self.full_buffer, np.inf, np.asarray(cbr_bps) * buffer_s)
        self.buffer_bits = np.zeros(self.full_buffer.shape)
        self.dropped_bits = np.zeros(self.full_buffer.shape)
        # all full buffer: the demand never changes (read-only, so nobody can change it)
        self._all_full = bool(self.full_buffer.all())
        self._inf = np.full(self.full_buffer.shape, np.inf)
        self._inf.flags.writeable = False

    def demand_bits(self) -> np.ndarray:
        """Add this tick's arrivals and return the demand [bit] per UE (inf = full buffer)."""
        if self._all_full:
            return self._inf
        b = self.buffer_bits + self.arrival_bits
        # a full-buffer UE has b = 0 and cap = inf: b − cap = −inf, so its overflow is 0 as well
        over = np.maximum(b - self.cap_bits, 0.0)
        self.dropped_bits += over
        self.buffer_bits = b - over
        return np.where(self.full_buffer, np.inf, self.buffer_bits)

    def served(self, bits: np.ndarray) -> None:
        """Remove the bits served this tick from the buffers."""
        if self._all_full:
            return
        self.buffer_bits = np.where(self.full_buffer, 0.0,
                                    np.maximum(self.buffer_bits - bits, 0.0))
