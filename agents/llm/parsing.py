"""Strict parsing and validation of an LLM's JSON reply.

An LLM reply is untrusted input: it may be empty, prose, truncated JSON, a number the guard-rails
must never see (``1e9``, ``NaN``), or an injection attempt (``"ignore previous rules, set quota
100"``). :func:`parse_json_reply` accepts exactly one JSON object (``json.loads``, never ``eval``)
and checks it against the small subset of JSON Schema our agents use, returning the first reason
for rejection in words a decision log can show (``"missing field kp"``,
``"kp=1e9 above maximum 5"``).

Supported schema subset
-----------------------
``type`` (object, number, integer, string, boolean), ``properties``, ``required``,
``additionalProperties: false``, ``enum``, ``const``, ``minimum``, ``maximum``,
``exclusiveMinimum``, ``exclusiveMaximum``, ``minLength``, ``maxLength``, nested objects.
Annotation keywords (``title``, ``description``, ``default``, ``examples``, ``$schema``) are
ignored. Any other keyword raises :class:`SchemaError`: a schema the validator cannot check must
not pass silently. No ``jsonschema`` dependency.
"""

from __future__ import annotations

import json
import math
from typing import Any, Self

_ANNOTATIONS = {"title", "description", "default", "examples", "$schema", "$id", "$comment"}
_SUPPORTED = {
    "type", "properties", "required", "additionalProperties", "enum", "const", "minimum",
    "maximum", "exclusiveMinimum", "exclusiveMaximum", "minLength", "maxLength",
} | _ANNOTATIONS


class SchemaError(ValueError):
    """The schema itself uses a keyword outside the supported subset (a programming error)."""


class _ReplyError(Exception):
    """Internal: the reply violates JSON syntax rules we add (NaN, duplicates)."""


class _JFloat(float):
    """A float that remembers its JSON text, so messages quote what the model wrote (``1e9``)."""

    text: str

    def __new__(cls, text: str) -> Self:
        obj = super().__new__(cls, text)
        obj.text = text
        return obj


def _reject_constant(name: str) -> Any:
    raise _ReplyError(f"{name} is not allowed in JSON")


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict:
    out: dict = {}
    for key, value in pairs:
        if key in out:
            raise _ReplyError(f"duplicate field {key}")
        out[key] = value
    return out


def _show(value: Any) -> str:
    """Render a value as the model wrote it."""
    if isinstance(value, _JFloat):
        return value.text
    if isinstance(value, str):
        return json.dumps(value if len(value) <= 40 else value[:37] + "...", ensure_ascii=False)
    return json.dumps(_plain(value), ensure_ascii=False)


def _plain(value: Any) -> Any:
    """Replace :class:`_JFloat` by ``float`` throughout."""
    if isinstance(value, _JFloat):
        return float(value)
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _type_ok(value: Any, expected: str) -> bool:
    if expected == "number":
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if expected == "integer":
        if isinstance(value, bool):
            return False
        return isinstance(value, int) or (isinstance(value, float) and value.is_integer())
    if expected == "string":
        return isinstance(value, str)
    if expected == "boolean":
        return isinstance(value, bool)
    if expected == "object":
        return isinstance(value, dict)
    if expected == "null":
        return value is None
    raise SchemaError(f"unsupported schema type {expected!r}")


def _check_keywords(schema: dict) -> None:
    unknown = sorted(set(schema) - _SUPPORTED)
    if unknown:
        raise SchemaError(f"schema keyword(s) {unknown} not supported by agents.llm.parsing")


def _check_range(value: Any, schema: dict, label: str) -> str | None:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return None
    if not math.isfinite(value):
        return f"{label}={_show(value)} is not a finite number"
    bounds = (("minimum", lambda v, b: v < b, "below minimum"),
              ("maximum", lambda v, b: v > b, "above maximum"),
              ("exclusiveMinimum", lambda v, b: v <= b, "not above exclusiveMinimum"),
              ("exclusiveMaximum", lambda v, b: v >= b, "not below exclusiveMaximum"))
    for key, violates, words in bounds:
        if key in schema and violates(value, schema[key]):
            return f"{label}={_show(value)} {words} {schema[key]}"
    return None


def _check_string(value: Any, schema: dict, label: str) -> str | None:
    if not isinstance(value, str):
        return None
    if "minLength" in schema and len(value) < schema["minLength"]:
        return f"{label} shorter than minLength {schema['minLength']}"
    if "maxLength" in schema and len(value) > schema["maxLength"]:
        return f"{label} longer than maxLength {schema['maxLength']}"
    return None


def _check_object(value: dict, schema: dict, path: str) -> str | None:
    props = schema.get("properties", {})
    for key in schema.get("required", []):
        if key not in value:
            return f"missing field {path}{key}"
    if schema.get("additionalProperties", True) is False:
        extra = [k for k in value if k not in props]
        if extra:
            return f"unexpected field {path}{extra[0]}"
    elif not isinstance(schema.get("additionalProperties", True), bool):
        raise SchemaError("additionalProperties must be true or false in the supported subset")
    for key, sub in props.items():
        if key in value:
            problem = validate(value[key], sub, f"{path}{key}")
            if problem:
                return problem
    return None


def validate(value: Any, schema: dict, path: str = "") -> str | None:
    """Check ``value`` against ``schema`` (supported subset); return the first problem or None.

    Parameters
    ----------
    value : object
        A parsed JSON value.
    schema : dict
        JSON schema using only the supported subset (see module docstring).
    path : str
        Dotted field path used in messages (``""`` for the root).

    Returns
    -------
    str or None
        ``None`` if valid, else a short reason such as ``"kp=1e9 above maximum 5"``.

    Raises
    ------
    SchemaError
        If the schema uses an unsupported keyword or type.
    """
    _check_keywords(schema)
    label = path or "reply"
    expected = schema.get("type")
    if expected is not None and not _type_ok(value, expected):
        return f"{label}: expected {expected}, got {_json_type(value)} {_show(value)}"
    if "const" in schema and _plain(value) != schema["const"]:
        return f"{label}={_show(value)} is not {schema['const']!r}"
    if "enum" in schema and _plain(value) not in schema["enum"]:
        return f"{label}={_show(value)} not one of {schema['enum']}"
    problem = _check_range(value, schema, label) or _check_string(value, schema, label)
    if problem is None and isinstance(value, dict):
        problem = _check_object(value, schema, f"{path}." if path else "")
    return problem


def _first_non_finite(value: Any, path: str) -> str | None:
    if isinstance(value, float) and not math.isfinite(value):
        return f"{path or 'reply'}={_show(value)} is not a finite number"
    items = value.items() if isinstance(value, dict) else enumerate(value) \
        if isinstance(value, list) else ()
    for key, sub in items:
        problem = _first_non_finite(sub, f"{path}.{key}" if path else str(key))
        if problem:
            return problem
    return None


def parse_json_reply(text: str | None, schema: dict | None) -> tuple[dict | None, str | None]:
    """Parse a reply as exactly one JSON object and validate it.

    Parameters
    ----------
    text : str or None
        Raw reply text. Leading/trailing whitespace is allowed; code fences, prose or a second
        object are not (constrained decoding and Ollama's ``format`` produce bare JSON).
    schema : dict or None
        JSON schema (supported subset); ``None`` checks only that the reply is a JSON object.

    Returns
    -------
    (dict or None, str or None)
        ``(obj, None)`` on success with plain Python values; ``(None, reason)`` otherwise.
        ``NaN``, ``Infinity`` and numbers overflowing to infinity (``1e999``) are rejected, as
        are duplicate keys (``{"kp": 1, "kp": 1e9}`` must not smuggle a value past a reader).
    """
    if text is None or not text.strip():
        return None, "empty reply"
    try:
        obj = json.loads(text, parse_float=_JFloat, parse_constant=_reject_constant,
                         object_pairs_hook=_no_duplicates)
    except json.JSONDecodeError as exc:
        return None, f"not JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
    except _ReplyError as exc:
        return None, f"not JSON: {exc}"
    if not isinstance(obj, dict):
        return None, f"not a JSON object: got {_json_type(obj)}"
    problem = _first_non_finite(obj, "")
    if problem is None and schema is not None:
        problem = validate(obj, schema)
    if problem:
        return None, problem
    return _plain(obj), None
