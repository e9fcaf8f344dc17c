"""Blueprints: the designer's plan of a digital twin, as a TOML list of steps (papers/000 §III-A).

The paper's blueprint is "a YAML file detailing the steps required to accomplish the task,
specifying each step's name, required inputs, produced outputs, and underlying logic". simran
uses TOML (the project's configuration language, parsed by the standard library)::

    title = "power control -> SINR"

    [[step]]
    name = "load"
    kind = "operation"            # optional: operation | functional (§III-C)
    inputs = ["rsrp_dbm.csv", "policy.toml"]
    outputs = ["rsrp_dbm"]
    logic = "read the measured RSRP matrix [U, C] in dBm"
    block = "shift_rsrp_dbm"      # optional: expert block(s) the step calls

:func:`parse_blueprint` extracts the TOML from an LLM reply (a fenced ```toml block or the bare
text) and validates it; anything else is a :class:`BlueprintError` naming the step and field.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field

MAX_STEPS = 20
KINDS = ("operation", "functional")


class BlueprintError(ValueError):
    """A blueprint that is not valid TOML or not a valid list of steps; says where and why."""


@dataclass
class Step:
    """One blueprint step.

    Attributes
    ----------
    name : str
    inputs, outputs : list of str
    logic : str
    kind : str
        ``operation`` or ``functional`` (default ``functional``).
    blocks : list of str
        Expert blocks the step calls.
    """

    name: str
    inputs: list
    outputs: list
    logic: str
    kind: str = "functional"
    blocks: list = field(default_factory=list)


@dataclass
class Blueprint:
    """A validated blueprint: its title, steps and the TOML text it came from."""

    title: str
    steps: list
    text: str

    def block_names(self) -> list:
        """Every expert block named by a step, in order, without repeats."""
        seen: list = []
        for s in self.steps:
            seen += [b for b in s.blocks if b not in seen]
        return seen


_FENCE = re.compile(r"```(?:toml|TOML)?[ \t]*\n(.*?)```", re.S)


def extract_toml(text: str) -> str:
    """The TOML of a reply: the first fenced block containing ``[[step]]``, else the text."""
    for block in _FENCE.findall(text or ""):
        if "[[step]]" in block:
            return block.strip()
    return (text or "").strip()


def _str_list(value, where: str) -> list:
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise BlueprintError(f"{where}: expected a list of strings, got {value!r}"[:200])
    return list(value)


def _step(i: int, raw, known_blocks, allowed_blocks) -> Step:
    where = f"step {i + 1}"
    if not isinstance(raw, dict):
        raise BlueprintError(f"{where}: not a table")
    for key in ("name", "inputs", "outputs", "logic"):
        if key not in raw:
            raise BlueprintError(f"{where}: missing field {key!r}")
    name, logic = raw["name"], raw["logic"]
    if not isinstance(name, str) or not name.strip():
        raise BlueprintError(f"{where}: 'name' must be a non-empty string")
    if not isinstance(logic, str) or not logic.strip():
        raise BlueprintError(f"{where} ({name}): 'logic' must be a non-empty string")
    kind = raw.get("kind", "functional")
    if kind not in KINDS:
        raise BlueprintError(f"{where} ({name}): kind {kind!r} is not one of {KINDS}")
    blocks = _str_list(raw.get("block", raw.get("blocks", [])), f"{where} ({name}).block")
    for b in blocks:
        if b not in known_blocks:
            raise BlueprintError(f"{where} ({name}): unknown expert block {b!r}")
        if allowed_blocks is not None and b not in allowed_blocks:
            raise BlueprintError(f"{where} ({name}): expert block {b!r} is not available in "
                                 "this run")
    return Step(name=name.strip(), inputs=_str_list(raw["inputs"], f"{where}.inputs"),
                outputs=_str_list(raw["outputs"], f"{where}.outputs"), logic=logic.strip(),
                kind=kind, blocks=blocks)


def parse_blueprint(text: str, allowed_blocks=None) -> Blueprint:
    """Parse and validate a blueprint.

    Parameters
    ----------
    text : str
        TOML, or an LLM reply containing it in a fenced block.
    allowed_blocks : collection of str, optional
        Blocks available in this run; ``None`` = any known block.

    Returns
    -------
    Blueprint

    Raises
    ------
    BlueprintError
        Not TOML, no ``[[step]]``, more than :data:`MAX_STEPS` steps, a missing or ill-typed
        field, or an unknown / unavailable expert block.
    """
    from agents.twin.blocks import REGISTRY

    body = extract_toml(text)
    try:
        data = tomllib.loads(body)
    except tomllib.TOMLDecodeError as exc:
        raise BlueprintError(f"not valid TOML: {exc}") from None
    steps = data.get("step")
    if not isinstance(steps, list) or not steps:
        raise BlueprintError("no [[step]] tables")
    if len(steps) > MAX_STEPS:
        raise BlueprintError(f"{len(steps)} steps (at most {MAX_STEPS})")
    parsed = [_step(i, s, REGISTRY, allowed_blocks) for i, s in enumerate(steps)]
    title = data.get("title", "")
    return Blueprint(title=title if isinstance(title, str) else str(title), steps=parsed,
                     text=body)
