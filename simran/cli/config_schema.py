"""The scenario schema as text, read from the pydantic models (never retyped).

``simran config schema [SECTION]`` prints a section's fields — type, default, range, description —
and the API reference (``docs/api``) builds its scenario pages from the same rows, so what the
terminal shows, what the reference says and what the loader checks are one declaration
(:mod:`simran.scenario`).

Sections are dotted paths of sub-models: ``simulation``, ``network``, ``network.antenna``,
``network.handover``, ``slicing``, ``slices``, ``ue_groups``, ``ue_groups.trace``, ``events``,
``agents``, ``output``; ``""`` is the top level.
"""

from __future__ import annotations

import types
import typing
from dataclasses import dataclass

from pydantic import BaseModel
from pydantic_core import PydanticUndefined

from simran.errors import SimranError

_BOUNDS = (("ge", "≥"), ("gt", ">"), ("le", "≤"), ("lt", "<"), ("min_length", "length ≥"),
           ("max_length", "length ≤"))


@dataclass(frozen=True)
class FieldRow:
    """One field of a section: what ``simran config schema`` prints."""

    name: str
    type: str
    default: str
    range: str
    description: str


def _models_in(annotation) -> list[type[BaseModel]]:
    """The pydantic models an annotation holds (``X``, ``list[X]``, ``X | None``)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    out = []
    for arg in typing.get_args(annotation):
        out += _models_in(arg)
    return out


def _type_name(annotation) -> str:
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        return " | ".join(repr(a) for a in typing.get_args(annotation))
    if origin is typing.Annotated:
        return _type_name(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return " | ".join(_type_name(a) for a in typing.get_args(annotation))
    if origin is not None:
        args = ", ".join(_type_name(a) for a in typing.get_args(annotation))
        return f"{getattr(origin, '__name__', str(origin))}[{args}]"
    if annotation is type(None):
        return "None"
    return getattr(annotation, "__name__", str(annotation))


def _default(info) -> str:
    if info.default_factory is not None:
        try:
            value = info.default_factory()
        except TypeError:
            return "(computed)"
        if isinstance(value, BaseModel):
            return "(section defaults)"
        return repr(value) if not isinstance(value, list) or len(repr(value)) < 40 else "[…]"
    if info.default is PydanticUndefined:
        return "(required)"
    return repr(info.default)


def _range(info) -> str:
    parts = []
    for meta in info.metadata:
        for attr, sym in _BOUNDS:
            value = getattr(meta, attr, None)
            if value is not None:
                parts.append(f"{sym} {value:g}" if isinstance(value, float) else f"{sym} {value}")
    return ", ".join(parts)


def section_model(section: str = "") -> type[BaseModel]:
    """The pydantic model of a dotted section path (``""``: :class:`simran.scenario.Scenario`).

    Raises
    ------
    SimranError
        If the path names no section; the message lists the sections.
    """
    from simran.scenario import Scenario

    model: type[BaseModel] = Scenario
    for part in [p for p in section.split(".") if p]:
        info = model.model_fields.get(part)
        models = _models_in(info.annotation) if info is not None else []
        if not models:
            raise SimranError(f"no scenario section {section!r}; sections: "
                              f"{', '.join(sections())}")
        model = models[0]
    return model


def sections() -> list[str]:
    """Every section path of the scenario schema."""
    from simran.scenario import Scenario

    out: list[str] = []

    def walk(model, prefix):
        for name, info in model.model_fields.items():
            for sub in _models_in(info.annotation):
                path = f"{prefix}{name}"
                out.append(path)
                walk(sub, path + ".")
    walk(Scenario, "")
    return out


def field_rows(section: str = "") -> list[FieldRow]:
    """The fields of a section, in declaration order (excluded fields left out)."""
    model = section_model(section)
    rows = []
    for name, info in model.model_fields.items():
        if info.exclude:
            continue
        rows.append(FieldRow(name, _type_name(info.annotation), _default(info), _range(info),
                             " ".join((info.description or "").split())))
    return rows


def format_section(section: str = "") -> str:
    """A section as terminal text: the model's docstring, then one block per field."""
    model = section_model(section)
    title = section or "(top level)"
    lines = [f"[{title}] — {' '.join((model.__doc__ or '').split())}", ""]
    for r in field_rows(section):
        rng = f", {r.range}" if r.range else ""
        lines.append(f"{r.name}: {r.type} = {r.default}{rng}")
        if r.description:
            lines.append(f"    {r.description}")
    subs = [s for s in sections() if s.rpartition(".")[0] == section]
    if subs:
        lines += ["", "sub-sections: " + ", ".join(subs)]
    return "\n".join(lines)
