"""Commands of the benchmark: JSON text → validated control-surface commands.

The LLM under test answers a task with one JSON object::

    {"commands": [
        {"action": "set_slice_quota", "cell": "A1", "slice": "video", "quota_pct": 50},
        {"action": "set_cell_power", "cell": "B2", "power_dbm": 40},
        {"action": "set_cell_state", "cell": "C3", "state": "sleep"},
        {"action": "set_intent", "slice": "video", "target_mbps": 50, "tolerance_mbps": 5},
        {"action": "set_kp", "slice": "video", "kp": 0.6}
    ]}

Cells and slices are addressed by **name** (``"A1"`` = site A, sector 1; ``"all"`` = every cell),
never by index. :func:`parse_commands` is NetLLMBench's JSON verifier (papers/002 §II-B): it
accepts exactly one JSON object of this shape — optionally inside one Markdown code fence, which
small models add by habit — and rejects everything else (empty reply, prose, a bare list, a
missing or extra field, a wrong type, an unknown action, cell or slice name) with a reason a
transcript can show. Such a reply is *unparsable* and climbs the re-prompt ladder
(:mod:`agents.bench.ladder`).

Ranges are **not** checked here: a quota of 140 % or a power of 90 dBm is a well-formed command
that the control surface of simran clamps (:mod:`simran.control`), and the clamp is fed back to
the model as an execution error. ``set_kp`` is not a control-surface action; it sets the gain of
the slice's P-controller (papers/004 Eq. 2), guard-railed to [0, :data:`KP_MAX`] here.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass

ALL_CELLS = "all"
KP_MAX = 5.0
"""Largest P-controller gain accepted [% of PRBs per Mbit/s]; larger values are clamped."""

#: action → (required fields with their kinds, optional fields with their kinds)
FIELDS: dict[str, tuple[dict[str, str], dict[str, str]]] = {
    "set_slice_quota": ({"cell": "cell", "slice": "slice", "quota_pct": "number"}, {}),
    "set_cell_power": ({"cell": "cell", "power_dbm": "number"}, {}),
    "set_cell_state": ({"cell": "cell", "state": "state"}, {}),
    "set_intent": ({"slice": "slice", "target_mbps": "number"}, {"tolerance_mbps": "number"}),
    "set_kp": ({"slice": "slice", "kp": "number"}, {}),
}
STATES = ("on", "off", "sleep")

EXAMPLE_REPLY = ('{"commands": [{"action": "set_cell_power", "cell": "A1", "power_dbm": 40}, '
                 '{"action": "set_slice_quota", "cell": "B2", "slice": "video", '
                 '"quota_pct": 55}]}')
"""The concrete reply shown on the second rung of the ladder ("example format")."""

_FENCE = re.compile(r"^```[a-zA-Z]*\s*\n?(.*?)\n?```$", re.DOTALL)


@dataclass(frozen=True)
class Command:
    """One validated command.

    Attributes
    ----------
    action : str
        One of :data:`FIELDS`.
    cell : str or None
        Cell name (``"A1"``) or ``"all"``; ``None`` for slice-level actions.
    slice : str or None
        Slice name.
    value : float or None
        quota [%], power [dBm], intent target [Mbit/s] or Kp [% per Mbit/s].
    state : str or None
        ``on``, ``off`` or ``sleep`` (``set_cell_state``).
    tolerance_mbps : float
        Intent tolerance [Mbit/s] (``set_intent``).
    """

    action: str
    cell: str | None = None
    slice: str | None = None
    value: float | None = None
    state: str | None = None
    tolerance_mbps: float = 0.0

    def to_json(self) -> dict:
        """The command in the reply format (field names of :data:`FIELDS`)."""
        out: dict = {"action": self.action}
        for key in FIELDS[self.action][0] | FIELDS[self.action][1]:
            out[key] = getattr(self, _ATTR.get(key, key))
        if self.action == "set_intent":
            out["tolerance_mbps"] = self.tolerance_mbps
        return out


_ATTR = {"quota_pct": "value", "power_dbm": "value", "target_mbps": "value", "kp": "value"}


class CommandError(ValueError):
    """A reply that is not a valid command list; the message says why."""


def strip_fence(text: str) -> str:
    """Remove one surrounding Markdown code fence (```json … ```), if the whole reply is one."""
    text = text.strip()
    m = _FENCE.match(text)
    return m.group(1).strip() if m else text


def _load(text: str | None) -> dict:
    if text is None or not text.strip():
        raise CommandError("empty reply")
    body = strip_fence(text)
    try:
        obj = json.loads(body, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        raise CommandError(f"not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    if not isinstance(obj, dict):
        raise CommandError(f"expected a JSON object {{\"commands\": [...]}}, got "
                           f"{type(obj).__name__}")
    if set(obj) != {"commands"}:
        raise CommandError(f"expected exactly the field 'commands', got {sorted(obj)}")
    if not isinstance(obj["commands"], list) or not obj["commands"]:
        raise CommandError("'commands' must be a non-empty list")
    return obj


def _no_constant(name: str):
    raise CommandError(f"{name} is not allowed in JSON")


def _field(item: dict, key: str, kind: str, cells: set[str], slices: set[str], where: str):
    value = item[key]
    if kind == "number":
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise CommandError(f"{where}.{key} must be a number, got {value!r}")
        if not math.isfinite(value):
            raise CommandError(f"{where}.{key} must be finite, got {value!r}")
        return float(value)
    if not isinstance(value, str):
        raise CommandError(f"{where}.{key} must be a string, got {value!r}")
    known = {"cell": cells | {ALL_CELLS}, "slice": slices, "state": set(STATES)}[kind]
    if value not in known:
        raise CommandError(f"{where}.{key}: unknown {kind} {value!r} (known: "
                           f"{', '.join(sorted(known))})")
    return value


def _command(item, i: int, cells: set[str], slices: set[str]) -> Command:
    where = f"commands[{i}]"
    if not isinstance(item, dict):
        raise CommandError(f"{where} must be an object, got {type(item).__name__}")
    action = item.get("action")
    if action not in FIELDS:
        raise CommandError(f"{where}.action: unknown action {action!r} (known: "
                           f"{', '.join(FIELDS)})")
    required, optional = FIELDS[action]
    missing = [k for k in required if k not in item]
    extra = [k for k in item if k != "action" and k not in required and k not in optional]
    if missing or extra:
        raise CommandError(f"{where} ({action}): " + "; ".join(
            ([f"missing field(s) {missing}"] if missing else [])
            + ([f"unexpected field(s) {extra}"] if extra else [])))
    vals = {k: _field(item, k, kind, cells, slices, where)
            for k, kind in (required | optional).items() if k in item}
    return Command(action=action, cell=vals.get("cell"), slice=vals.get("slice"),
                   value=next((vals[k] for k in _ATTR if k in vals), None),
                   state=vals.get("state"), tolerance_mbps=vals.get("tolerance_mbps", 0.0))


def parse_commands(text: str | None, cells: list[str], slices: list[str]) -> list[Command]:
    """Parse and validate a reply (see module docstring).

    Parameters
    ----------
    text : str or None
        The raw reply.
    cells, slices : list of str
        Names that exist in the network; anything else is unparsable.

    Returns
    -------
    list of Command
        In the order given (the control surface applies them in that order).

    Raises
    ------
    CommandError
        With the first reason the reply is unusable.
    """
    obj = _load(text)
    cell_set, slice_set = set(cells), set(slices)
    return [_command(item, i, cell_set, slice_set) for i, item in enumerate(obj["commands"])]


def dump_commands(commands: list[Command]) -> str:
    """The canonical reply text of a command list (what the rule answers)."""
    return json.dumps({"commands": [c.to_json() for c in commands]})
