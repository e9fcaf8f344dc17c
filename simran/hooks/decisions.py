"""What an agent decides and what the run remembers of it: :class:`Decision`, the decision log.

The decision log is the paper's audit log 𝓛 (papers/004 §3): one :class:`DecisionRecord` per
decision of every agent — when it observed, how long it thought (the latency charged in simulated
time), whether it was on time for its loop's budget, what the backend answered, and what the
control surface's guard-rails made of the actions.

Decision statuses
-----------------
``status`` says how far a decision got; it is set when the decision is logged and updated when
its actions are applied.

================  =================================================================================
status            meaning
================  =================================================================================
``no_action``     ``decide`` returned no action, message or effect (e.g. a meta-tuner whose
                  cluster was within τ); nothing is applied; ``t_apply_s`` is NaN
``pending``       on time, with actions still queued at the end of the run: the ready time
                  t0 + L or the next tick boundary after it is at or after the end, so they never
                  reached the network (typically the last decision of an ``rt`` agent)
``pending_late``  as ``pending``, for a late decision with ``late = "apply"``
``applied``       on time; every action went through the control surface at ``t_apply_s`` (the
                  first tick boundary ≥ t0 + L), and messages / ``on_ready`` effects happened. What
                  the guard-rails made of the actions is ``guard_verdict``: ``applied`` with
                  ``guard_verdict = "rejected"`` means the action reached the surface and was
                  refused there (unknown slice, NaN…): the network did not change
``applied_late``  as ``applied``, for a decision later than its budget with ``late = "apply"``
``dropped_late``  later than its budget with ``late = "drop"`` (the default): discarded, nothing
                  applied (stale control, design §3 step 5)
``replied``       an answer to a round's request (:mod:`simran.hooks.messages`) that arrived by
                  the round's deadline; ``t_apply_s`` is its arrival time
``reply_late``    an answer that arrived after the round's deadline (the round went on without it)
``no_reply``      the agent's ``respond`` returned no answer to a round's request
================  =================================================================================

``guard_verdict`` is the control surface's verdict (:class:`simran.control.Verdict`):
``accepted``, ``clamped`` (applied after clamping into range; ``guard_reason`` says how),
``rejected`` (not applied), or empty when no action was applied; with several actions, the
worst. ``validation`` is ``"ok"`` or ``"rejected: <why>"`` when an LLM agent's own validation
refused the reply (then ``actions`` are the deterministic fallback policy's), and
``fallback_reason`` is set when the backend could not answer at all and the scripted rule did.
``on_time`` is ``latency_ms <= budget_ms``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from simran.units import US_PER_S


@dataclass(slots=True)
class Decision:
    """What :meth:`Agent.decide` returns.

    Attributes
    ----------
    actions : list
        Control-surface actions (:mod:`simran.control`), validated and clamped at apply time.
    messages : list of (dst, payload)
        Sent when the decision is ready (t0 + L), so thinking time delays them too.
    on_ready : callable(t_us), optional
        An effect on the agent itself at t0 + L (e.g. a new gain for its own controller).
    backend, model, prompt_hash, prompt, raw_text, parsed, reply_error, fallback_reason
        What the LLM (or rule) answered, for the decision log (empty for numeric agents).
    validation : str
        ``"ok"`` or why the reply was rejected by the agent's own validation (then ``actions``
        are the deterministic fallback policy's).
    prompt_tokens, completion_tokens : int
    wall_s : float or None
        Wall time of the backend call (None: the wrapper measures decide itself).
    note : str
        Free text for the log.
    reply : any
        The answer to a round's request (:meth:`simran.hooks.Agent.respond`); None = no answer.
    """

    actions: list = field(default_factory=list)
    messages: list = field(default_factory=list)
    on_ready: Callable | None = None
    backend: str = ""
    model: str = ""
    prompt_hash: str = ""
    prompt: str = ""
    raw_text: str = ""
    parsed: Any = None
    reply_error: str = ""
    fallback_reason: str = ""
    validation: str = "ok"
    prompt_tokens: int = 0
    completion_tokens: int = 0
    wall_s: float | None = None
    note: str = ""
    reply: Any = None


DECISION_COLUMNS = (
    "decision_id", "agent", "kind", "loop", "t_obs_s", "t_ready_s", "t_apply_s", "latency_ms",
    "budget_ms", "on_time", "status", "n_actions", "backend", "model", "prompt_hash", "prompt",
    "raw_text", "parsed", "actions", "guard_verdict", "guard_reason", "validation",
    "fallback_reason", "prompt_tokens", "completion_tokens", "wall_s", "note")


_AGENT_FIELDS = ("agent", "kind", "loop", "budget_ms")
"""Fields of a decision that are its agent's: one tuple per row (:class:`DecisionRecord`)."""
_REPLY_FIELDS = ("backend", "model", "prompt_hash", "prompt", "raw_text", "parsed",
                 "validation", "fallback_reason", "prompt_tokens", "completion_tokens", "note")
"""Fields that say what the backend answered: one tuple per row, shared by every row of a
plain decision (no backend: a numeric agent's list of actions, or None)."""
_OWN_FIELDS = tuple(c for c in DECISION_COLUMNS if c not in _AGENT_FIELDS + _REPLY_FIELDS)


class DecisionRecord:
    """One row of the decision log: the fields of :data:`DECISION_COLUMNS`, read and written
    like a dict (``row["status"]``, ``row.get("prompt")``, ``row.keys()``) or as attributes.

    A slotted record, not a dict: an ``rt`` agent logs a decision every 5 ms tick (12,000 per
    simulated minute). The fields of the agent (``agent``, ``kind``, ``loop``, ``budget_ms``) and
    of the backend's answer (``backend`` … ``note``) are kept as two tuples, the latter shared by
    every row of a plain decision: a record takes 14 slots instead of 27 and less time to build.
    Every field reads and writes the same either way.
    """

    __slots__ = _OWN_FIELDS + ("_a", "_r")

    def __init__(self, values: dict | None = None, **fields):
        for c in _OWN_FIELDS:
            setattr(self, c, None)
        self._a = (None,) * len(_AGENT_FIELDS)
        self._r = (None,) * len(_REPLY_FIELDS)
        for k, v in {**(values or {}), **fields}.items():
            self[k] = v

    def __getitem__(self, key: str):
        if key not in _DECISION_FIELDS:
            raise KeyError(key)
        return getattr(self, key)

    def __setitem__(self, key: str, value) -> None:
        if key not in _DECISION_FIELDS:
            raise KeyError(f"{key!r} is not a decision-log field ({', '.join(DECISION_COLUMNS)})")
        setattr(self, key, value)

    def get(self, key: str, default=None):
        return getattr(self, key, default) if key in _DECISION_FIELDS else default

    def __contains__(self, key) -> bool:
        return key in _DECISION_FIELDS

    def __iter__(self):
        return iter(DECISION_COLUMNS)

    def __len__(self) -> int:
        return len(DECISION_COLUMNS)

    def keys(self):
        return list(DECISION_COLUMNS)

    def items(self):
        return [(c, getattr(self, c)) for c in DECISION_COLUMNS]

    def to_dict(self) -> dict:
        return dict(self.items())

    def __eq__(self, other) -> bool:
        if isinstance(other, DecisionRecord):
            other = other.to_dict()
        return isinstance(other, dict) and self.to_dict() == other

    __hash__ = None

    def __repr__(self) -> str:
        return f"DecisionRecord({self.to_dict()!r})"


def _tuple_field(slot: str, i: int, name: str) -> property:
    def get(self):
        return getattr(self, slot)[i]

    def set_(self, value):
        t = list(getattr(self, slot))
        t[i] = value
        setattr(self, slot, tuple(t))
    return property(get, set_, doc=f"The decision-log field ``{name}``.")


for _i, _n in enumerate(_AGENT_FIELDS):
    setattr(DecisionRecord, _n, _tuple_field("_a", _i, _n))
for _i, _n in enumerate(_REPLY_FIELDS):
    setattr(DecisionRecord, _n, _tuple_field("_r", _i, _n))
del _i, _n


def reply_fields(dec: Decision) -> tuple:
    """The :data:`_REPLY_FIELDS` of a decision, in order, as a row keeps them."""
    return (dec.backend, dec.model, dec.prompt_hash, dec.prompt, dec.raw_text, dec.parsed,
            dec.validation, dec.fallback_reason or "", dec.prompt_tokens, dec.completion_tokens,
            dec.note)


_DECISION_FIELDS = frozenset(DECISION_COLUMNS)
SUMMARY_COUNTS = ("decisions", "on_time", "late", "dropped", "rejected_replies",
                  "backend_fallbacks")
"""The per-agent counts of :meth:`DecisionLog.summary` (``agent.<name>.<count>``)."""
NO_DECISION = Decision()
"""What ``decide`` returning None stands for (shared: the wrapper only reads it)."""
NO_REPLY = reply_fields(NO_DECISION)
"""The answer fields of every plain decision's row (shared)."""


def plain_record(decision_id: int, agent: tuple, t0: int, lat: int, wall_s: float,
                 status: str, on_time: bool) -> DecisionRecord:
    """The row of a plain decision without actions (a numeric agent's None or empty list).

    ``agent`` is the :data:`_AGENT_FIELDS` tuple; ``t0``, ``lat`` in µs; ``wall_s`` in s.
    """
    row = DecisionRecord.__new__(DecisionRecord)
    row._a, row._r = agent, NO_REPLY
    row.t_obs_s, row.t_ready_s, row.t_apply_s = t0 / US_PER_S, (t0 + lat) / US_PER_S, None
    row.latency_ms, row.on_time = lat / 1e3, on_time
    row.status, row.n_actions = status, 0
    row.actions, row.guard_verdict, row.guard_reason = [], "", ""
    row.wall_s, row.decision_id = wall_s, decision_id
    return row


class DecisionLog:
    """Every decision of every agent (the paper's audit log 𝓛); one row per decision.

    An ``rt`` agent decides every 5 ms tick, mostly that nothing needs doing. Until someone
    reads :attr:`rows`, such a plain decision without actions is kept as the tuple of what
    differs between them (:meth:`add_plain`) and made a :class:`DecisionRecord` when the rows
    are first read — the same record, built later; from then on every row is a record at once,
    so a list handed out never holds anything else.
    """

    def __init__(self):
        self._rows: list = []              # DecisionRecord, or a plain decision's tuple
        self._plain = 0                    # tuples among them
        self._handed_out = False

    @property
    def rows(self) -> list[DecisionRecord]:
        """Every row so far, in decision order (``decision_id`` = position)."""
        if self._plain:
            rows = self._rows
            for i, r in enumerate(rows):     # in place: each tuple freed as it is replaced
                if type(r) is tuple:
                    rows[i] = plain_record(i, *r)
            self._plain = 0
        self._handed_out = True
        return self._rows

    def __len__(self) -> int:
        return len(self._rows)

    def add(self, row: dict | DecisionRecord) -> DecisionRecord:
        """Append a row (a :class:`DecisionRecord`, or a dict of its fields); return it."""
        if not isinstance(row, DecisionRecord):
            row = DecisionRecord(row)
        row.decision_id = len(self._rows)
        self._rows.append(row)
        return row

    def add_plain(self, agent: tuple, t0: int, lat: int, wall_s: float, status: str,
                  on_time: bool) -> None:
        """Append the row of a plain decision without actions (:func:`plain_record`)."""
        if self._handed_out:
            self._rows.append(plain_record(len(self._rows), agent, t0, lat, wall_s, status,
                                           on_time))
        else:
            self._rows.append((agent, t0, lat, wall_s, status, on_time))
            self._plain += 1

    def columns(self) -> dict[str, np.ndarray]:
        """Column arrays for the results file (strings as object arrays)."""
        out = {}
        for c in DECISION_COLUMNS:
            vals = [r.get(c) for r in self.rows]
            if c in ("t_obs_s", "t_ready_s", "t_apply_s", "latency_ms", "budget_ms", "wall_s"):
                out[c] = np.array([np.nan if v is None else float(v) for v in vals], float)
            elif c in ("decision_id", "n_actions", "prompt_tokens", "completion_tokens"):
                out[c] = np.array([int(v or 0) for v in vals], np.int64)
            elif c == "on_time":
                out[c] = np.array([bool(v) for v in vals], bool)
            elif c == "actions":
                out[c] = np.array([json.dumps([_action_dict(a) for a in v or []])
                                   for v in vals], dtype=object)
            else:
                out[c] = np.array([v if isinstance(v, str) else json.dumps(v, default=str)
                                   if v is not None else "" for v in vals], dtype=object)
        return out

    def summary(self, agents=()) -> dict:
        """Counts for the run summary, per agent: decisions, on time, late, dropped, replies
        rejected by validation (the deterministic policy decided instead), and decisions for which
        the backend could not answer at all (server down, … → the scripted policy answered).

        Every agent named in ``agents`` appears, with zeros if it never decided (e.g. its first
        observation fell after the end of the run)."""
        out: dict[str, float] = {}
        for a in agents:
            for key in SUMMARY_COUNTS:
                out[f"agent.{a}.{key}"] = 0.0
        for r in self.rows:
            a = r["agent"]
            for key, cond in (("decisions", True), ("on_time", r["on_time"]),
                              ("late", not r["on_time"]),
                              ("dropped", r["status"] == "dropped_late"),
                              ("rejected_replies", r["validation"] != "ok"),
                              ("backend_fallbacks", bool(r["fallback_reason"]))):
                k = f"agent.{a}.{key}"
                out[k] = out.get(k, 0.0) + float(bool(cond))
        return out




def worst_verdict(statuses: list[str]) -> str:
    for s in ("rejected", "clamped", "accepted"):
        if s in statuses:
            return s
    return ""


def _action_dict(a) -> dict:
    from simran.control import action_to_dict

    if isinstance(a, dict):
        return a
    try:
        d = action_to_dict(a)
    except TypeError:
        return {"repr": repr(a)}
    return {k: (v if not isinstance(v, float) or math.isfinite(v) else str(v))
            for k, v in d.items()}
