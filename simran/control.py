"""The control surface: the only way anything changes the network (design §3).

An E2-like set of typed actions. Scripted events of a scenario file and agents use the same
surface. Every action is **validated and clamped** before it touches the RAN, and the verdict
(accepted / clamped / rejected, with the reason) is recorded:

* unknown cell or slice, non-finite value → rejected (the network is unchanged);
* a quota outside [0, 100] % → clamped; a quota that would make the cell's quotas add up to more
  than 100 % → clamped to what is left (so a cell never grants more PRBs than it has);
* a transmit power outside [``min_power_dbm``, ``max_power_dbm``] → clamped.

Actions are submitted with the simulated time at which they become ready (``t_ready_us``) and
applied by the scheduler at the first tick boundary ≥ that time, in submission order.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Literal

import numpy as np

CellState = Literal["on", "off", "sleep"]
STATE_CODE = {"on": 0, "off": 1, "sleep": 2}


@dataclass(frozen=True)
class SetSliceQuota:
    """Set the PRB quota of a slice [% of the cell's PRBs] in one cell (or all: ``cell=None``)."""

    slice: str
    quota_pct: float
    cell: int | None = None
    kind: str = field(default="set_slice_quota", init=False)

    def __init__(self, slice: str, quota_pct: float, cell: int | None = None):  # noqa: A002
        # what the generated frozen __init__ does (``kind`` is the class default), without
        # four object.__setattr__ calls: an rt controller builds one every few ticks
        d = self.__dict__
        d["slice"], d["quota_pct"], d["cell"] = slice, quota_pct, cell


@dataclass(frozen=True, eq=False)
class SetSliceQuotas:
    """Set every slice's quota in every cell at once [%]: ``quota_pct`` has shape [C, S] (or [S]
    for the same quotas in every cell). The vectorised action of ``rt`` agents acting per tick."""

    quota_pct: np.ndarray
    kind: str = field(default="set_slice_quotas", init=False)


@dataclass(frozen=True)
class SetCellPower:
    """Set a cell's transmit power over the whole bandwidth [dBm]."""

    power_dbm: float
    cell: int | None = None
    kind: str = field(default="set_cell_power", init=False)


@dataclass(frozen=True)
class SetCellState:
    """Switch a cell on, off, or to sleep (off and sleep both stop transmission; the EARTH model
    charges P_sleep for both)."""

    state: CellState
    cell: int | None = None
    kind: str = field(default="set_cell_state", init=False)


@dataclass(frozen=True)
class SetIntent:
    """Set a slice's throughput intent (SLA) [Mbit/s] with a tolerance band [Mbit/s]."""

    slice: str
    target_mbps: float
    tolerance_mbps: float = 0.0
    kind: str = field(default="set_intent", init=False)


Action = SetSliceQuota | SetSliceQuotas | SetCellPower | SetCellState | SetIntent


@dataclass(slots=True)
class Verdict:
    """Outcome of validating one action."""

    status: Literal["accepted", "clamped", "rejected"]
    reason: str = ""
    applied: dict | None = None

    @property
    def ok(self) -> bool:
        return self.status != "rejected"


def action_to_dict(action: Action) -> dict:
    """A JSON-able dict of an action (with its ``kind``)."""
    d = asdict(action)
    return {k: (v.tolist() if isinstance(v, np.ndarray) else v) for k, v in d.items()}


class ControlSurface:
    """Validates, clamps, queues and applies actions on the network state.

    Parameters
    ----------
    net : simran.simulation.NetworkState
        The state (quotas, powers, cell states, intents); changed copy-on-write (:meth:`_write`).
    slice_names : list of str
    min_power_dbm, max_power_dbm : float
        Guard-rail range of cell transmit power [dBm].
    on_applied : callable(t_us, action, verdict, origin, tag), optional
        Called after each action is applied or rejected (the event / decision log).
    """

    def __init__(self, net, slice_names: list[str], min_power_dbm: float, max_power_dbm: float,
                 on_applied: Callable | None = None):
        self.net = net
        self.slice_index = {n: i for i, n in enumerate(slice_names)}
        self.min_power_dbm, self.max_power_dbm = float(min_power_dbm), float(max_power_dbm)
        self.on_applied = on_applied
        self._queue: list = []
        self._seq = itertools.count()
        self._one_cell: dict[int, np.ndarray] = {}      # cell → its read-only index array
        for c in range(int(net.n_cells)):
            arr = self._one_cell[c] = np.array((c,))
            arr.flags.writeable = False

    # -- queueing ----------------------------------------------------------------------------
    def submit(self, action: Action, t_ready_us: int, origin: str = "script", tag=None) -> None:
        """Queue an action; it is applied at the first tick boundary ≥ ``t_ready_us``."""
        heapq.heappush(self._queue, (int(t_ready_us), next(self._seq), action, origin, tag))

    def apply_due(self, now_us: int) -> int:
        """Apply every queued action whose ready time is ≤ ``now_us``; return how many."""
        n = 0
        while self._queue and self._queue[0][0] <= now_us:
            _, _, action, origin, tag = heapq.heappop(self._queue)
            verdict = self.apply(action)
            n += 1
            if self.on_applied is not None:
                self.on_applied(now_us, action, verdict, origin, tag)
        return n

    # -- validation + application --------------------------------------------------------------
    def validate(self, action: Action) -> Verdict:
        """Check an action against the current state without applying it."""
        return self._dispatch(action, apply=False)

    def apply(self, action: Action) -> Verdict:
        """Validate, clamp and apply an action now."""
        if type(action) is SetSliceQuota and type(action.cell) is int:
            v = self._quota_one(action)                 # an rt controller's every-tick case
            if v is not None:
                return v
        return self._dispatch(action, apply=True)

    def _quota_one(self, a: SetSliceQuota) -> Verdict | None:
        """:meth:`_quota` for a valid slice, an existing cell and a float quota within
        [0, 100] %, with the same float operations; None (take the general path) otherwise."""
        s, q, c = self.slice_index.get(a.slice), a.quota_pct, a.cell
        if s is None or type(q) is not float or not 0.0 <= q <= 100.0 or c not in self._one_cell:
            return None                                  # (NaN fails the range test)
        quota = self.net.quota_pct
        row = quota.tolist()[c]
        tot = 0.0
        for v in row:                  # in index order, as numpy sums a short row
            tot += v
        others1 = tot - row[s]
        new1 = min(q, max(100.0 - others1, 0.0))
        arr = quota.copy()                               # copy-on-write (see _write)
        arr[c, s] = new1
        arr.setflags(write=False)
        self.net.quota_pct = arr
        if new1 < q - 1e-12:
            return Verdict("clamped", f"other slices hold {others1:g} %: clamped to {new1:g} %",
                           {"slice": a.slice, "cells": [c], "quota_pct": [new1]})
        return Verdict("accepted", "", {"slice": a.slice, "cells": [c], "quota_pct": [new1]})

    def _dispatch(self, action, apply: bool) -> Verdict:
        handler = self._HANDLERS.get(getattr(action, "kind", None))
        if handler is None:
            return Verdict("rejected", f"unknown action {action!r}")
        cells, why = self._cells(getattr(action, "cell", None))
        if why:
            return Verdict("rejected", why)
        return getattr(self, handler)(action, cells, apply)

    def _write(self, name: str, index, value) -> None:
        """Copy-on-write of one state array: a new, read-only array replaces the old one.

        Observations hold the state arrays without copying them (:meth:`simran.hooks.Agent.
        observe`); since the state is never changed in place, what an agent saw stays what it
        saw, and since the arrays are read-only, no agent can change the network around the
        guard-rails by writing into its observation.
        """
        arr = getattr(self.net, name).copy()
        arr[index] = value
        arr.setflags(write=False)
        setattr(self.net, name, arr)

    _HANDLERS = {"set_slice_quota": "_quota", "set_slice_quotas": "_quotas",
                 "set_cell_power": "_power", "set_cell_state": "_state",
                 "set_intent": "_intent"}

    def _cells(self, cell) -> tuple[np.ndarray, str]:
        if type(cell) is int:           # the usual case, a valid index: one lookup
            arr = self._one_cell.get(cell)
            if arr is not None:
                return arr, ""
        n = self.net.n_cells
        if cell is None:
            return np.arange(n), ""
        if isinstance(cell, bool) or not isinstance(cell, (int, np.integer)):
            return np.arange(0), f"cell must be an integer index, got {cell!r}"
        if not 0 <= cell < n:
            return np.arange(0), f"cell {cell} does not exist (0…{n - 1})"
        arr = self._one_cell.get(int(cell))
        if arr is None:                 # one shared read-only index array per cell
            arr = self._one_cell[int(cell)] = np.array((int(cell),))
            arr.flags.writeable = False
        return arr, ""

    def _slice(self, name) -> tuple[int, str]:
        if name not in self.slice_index:
            return -1, f"unknown slice {name!r} (slices: {', '.join(self.slice_index)})"
        return self.slice_index[name], ""

    @staticmethod
    def _number(value, what: str) -> tuple[float, str]:
        try:
            v = float(value)
        except (TypeError, ValueError):
            return math.nan, f"{what} must be a number, got {value!r}"
        if not math.isfinite(v):
            return math.nan, f"{what} must be finite, got {value!r}"
        return v, ""

    def _quota(self, a: SetSliceQuota, cells, apply) -> Verdict:
        s, why = self._slice(a.slice)
        q, why2 = self._number(a.quota_pct, "quota_pct")
        if why or why2:
            return Verdict("rejected", why or why2)
        reasons = []
        if q < 0 or q > 100:
            reasons.append(f"quota {q:g} % outside [0, 100] %")
            q = min(max(q, 0.0), 100.0)
        quota = self.net.quota_pct
        if cells.size == 1:          # one cell (an rt controller's every-tick case): scalars
            c = int(a.cell) if a.cell is not None else 0
            row = quota[c].tolist()
            tot = 0.0
            for v in row:               # in index order, as numpy sums a short row
                tot += v
            others1 = tot - row[s]
            new1 = min(q, max(100.0 - others1, 0.0))
            if new1 < q - 1e-12:
                reasons.append(f"other slices hold {others1:g} %: clamped to {new1:g} %")
            if apply:
                self._write("quota_pct", (c, s), new1)
            return Verdict("clamped" if reasons else "accepted",
                           "; ".join(reasons) if reasons else "",
                           {"slice": a.slice, "cells": [c], "quota_pct": [new1]})
        others = quota[cells].sum(axis=1) - quota[cells, s]             # [n]
        allowed = np.maximum(100.0 - others, 0.0)
        new = np.minimum(q, allowed)
        if (new < q - 1e-12).any():
            reasons.append(f"other slices hold {others.max():g} %: clamped to {new.min():g} %")
        if apply:
            self._write("quota_pct", (cells, s), new)
        applied = {"slice": a.slice, "cells": cells.tolist(), "quota_pct": new.tolist()}
        return Verdict("clamped" if reasons else "accepted", "; ".join(reasons), applied)

    def _quotas(self, a: SetSliceQuotas, cells, apply) -> Verdict:
        cur = self.net.quota_pct
        try:
            q = np.broadcast_to(np.asarray(a.quota_pct, dtype=float), cur.shape)
        except (TypeError, ValueError):
            return Verdict("rejected", f"quota_pct must be numbers of shape {cur.shape} or "
                           f"({cur.shape[1]},)")
        if not np.isfinite(q).all():
            return Verdict("rejected", "quota_pct must be finite (NaN/inf found)")
        reasons = []
        new = np.clip(q, 0.0, 100.0)
        if (new != q).any():
            reasons.append("quotas outside [0, 100] % clipped")
        tot = new.sum(axis=1, keepdims=True)
        over = tot > 100.0
        if over.any():
            new = np.where(over, new * (100.0 / np.maximum(tot, 1e-12)), new)
            reasons.append(f"{int(over.sum())} cell(s) above 100 % in total: scaled to 100 %")
        if apply:
            self._write("quota_pct", Ellipsis, new)
        applied = {"cells_scaled": np.flatnonzero(over[:, 0]).tolist()} if reasons else None
        return Verdict("clamped" if reasons else "accepted", "; ".join(reasons), applied)

    def _power(self, a: SetCellPower, cells, apply) -> Verdict:
        p, why = self._number(a.power_dbm, "power_dbm")
        if why:
            return Verdict("rejected", why)
        reason = ""
        if not self.min_power_dbm <= p <= self.max_power_dbm:
            reason = (f"power {p:g} dBm outside [{self.min_power_dbm:g}, "
                      f"{self.max_power_dbm:g}] dBm")
            p = min(max(p, self.min_power_dbm), self.max_power_dbm)
        if apply:
            self._write("tx_power_dbm", cells, p)
        applied = {"cells": cells.tolist(), "power_dbm": p}
        return Verdict("clamped" if reason else "accepted", reason, applied)

    def _state(self, a: SetCellState, cells, apply) -> Verdict:
        if a.state not in STATE_CODE:
            return Verdict("rejected", f"unknown cell state {a.state!r} (on, off, sleep)")
        if apply:
            self._write("cell_state", cells, STATE_CODE[a.state])
        return Verdict("accepted", "", {"cells": cells.tolist(), "state": a.state})

    def _intent(self, a: SetIntent, cells, apply) -> Verdict:
        s, why = self._slice(a.slice)
        t, why2 = self._number(a.target_mbps, "target_mbps")
        tol, why3 = self._number(a.tolerance_mbps, "tolerance_mbps")
        if why or why2 or why3:
            return Verdict("rejected", why or why2 or why3)
        if t < 0 or tol < 0:
            return Verdict("rejected", f"intent {t:g} ± {tol:g} Mbit/s must be ≥ 0")
        if apply:
            self._write("intent_mbps", s, t)
            self._write("intent_tol_mbps", s, tol)
        return Verdict("accepted", "", {"slice": a.slice, "target_mbps": t,
                                        "tolerance_mbps": tol})


def event_action(e) -> Action:
    """The action of a scenario's ``[[events]]`` entry (:class:`simran.scenario.Event`)."""
    if e.action == "set_slice_quota":
        return SetSliceQuota(slice=e.slice, quota_pct=e.value, cell=e.cell)
    if e.action == "set_cell_power":
        return SetCellPower(power_dbm=e.value, cell=e.cell)
    if e.action in ("cell_off", "cell_on", "cell_sleep"):
        return SetCellState(state=e.action.split("_")[1], cell=e.cell)
    return SetIntent(slice=e.slice, target_mbps=e.value, tolerance_mbps=e.tolerance or 0.0)
