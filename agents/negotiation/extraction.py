"""Extraction unit (papers/003 §III-1): the proposed value and the reasoning out of a reply.

A negotiation message has two parts, the proposed SLA and the reasoning in natural language
(papers/004 §3.3; papers/003 §III). Replies arrive in three forms, tried in this order:

``json``
    one JSON object, ``{"throughput": 65, "reasoning": "..."}`` (our response template), possibly
    inside a Markdown code fence;
``template``
    the paper's template, prose followed by an object: ``Reasoning: ... {"throughput": 65}``
    (papers/004 App. B, Listing 2) — the last object holding ``throughput`` is taken, and the
    prose (without the ``Reasoning:`` label) is the reasoning unless the object has its own;
``text``
    free text: the throughput quoted with a unit (``65 Mbps``, ``65 Mbit/s``). Several different
    values are resolved by the one next to a proposal verb (``propose``, ``offer``, ...);
    otherwise the reply is ambiguous.

Extraction never judges the value (a string, NaN or 250 are returned as found):
:mod:`agents.negotiation.validation` does.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

RESPONSE_TEMPLATE = ('Answer with one JSON object and nothing else: {"throughput": <number from 0 '
                     'to 100, in Mbit/s>, "reasoning": "<your reasoning in 1-2 sentences>"}')
"""The response template put in every prompt (the paper's template as one JSON object)."""

MISSING = None
_FENCE = re.compile(r"^\s*```[a-zA-Z]*\s*(.*?)\s*```\s*$", re.S)
_LABEL = re.compile(r"^\s*reasoning\s*:\s*", re.I)
_NUMBER_UNIT = re.compile(r"(?<![\w.])(-?\d+(?:\.\d+)?)\s*(?:mbit/s|mbits/s|mbps|mb/s)\b", re.I)
_VERB = re.compile(r"(propos|offer|bid|accept|agree|settle|suggest|counter|throughput)\w*", re.I)


@dataclass(frozen=True)
class Extracted:
    """What the extraction unit found in one reply.

    Attributes
    ----------
    value : object
        The proposed throughput as found (a number, a string, NaN, ...) or ``None`` if absent.
    reasoning : str or None
        The reasoning text, ``None`` if absent.
    form : {"json", "template", "text", "none"}
        Which form of reply it was.
    problem : str
        ``""`` if a value was found, else why not (for the decision log).
    """

    value: Any
    reasoning: str | None
    form: str
    problem: str = ""

    @property
    def found(self) -> bool:
        """A value was found (it may still be invalid)."""
        return not self.problem


def _from_object(obj: dict, form: str, prose: str | None) -> Extracted:
    reasoning = obj.get("reasoning")
    if reasoning is None and prose:
        reasoning = prose
    if "throughput" not in obj:
        return Extracted(MISSING, reasoning, form, "missing field throughput")
    return Extracted(obj["throughput"], reasoning, form)


def _objects(text: str):
    """Every JSON object embedded in ``text``, as (start, end, dict)."""
    decoder = json.JSONDecoder()
    for match in re.finditer(r"\{", text):
        try:
            obj, end = decoder.raw_decode(text, match.start())
        except json.JSONDecodeError:
            continue
        if isinstance(obj, dict):
            yield match.start(), end, obj


def _from_text(text: str) -> Extracted:
    found = [(float(m.group(1)), m.start()) for m in _NUMBER_UNIT.finditer(text)]
    values = sorted({v for v, _ in found})
    if not values:
        return Extracted(MISSING, text.strip() or None, "none", "no throughput found in reply")
    if len(values) == 1:
        return Extracted(values[0], text.strip(), "text")
    near_verb = {v for v, pos in found if _VERB.search(text[max(0, pos - 30):pos])}
    if len(near_verb) == 1:
        return Extracted(near_verb.pop(), text.strip(), "text")
    shown = ", ".join(f"{v:g}" for v in values)
    return Extracted(MISSING, text.strip(), "text",
                     f"ambiguous reply: several throughputs ({shown} Mbit/s)")


def extract(reply: str | dict) -> Extracted:
    """Extract the proposed throughput and the reasoning from one reply.

    Parameters
    ----------
    reply : str or dict
        The raw reply text, or an already-parsed JSON object.

    Returns
    -------
    Extracted
    """
    if isinstance(reply, dict):
        return _from_object(reply, "json", None)
    if not isinstance(reply, str):
        return Extracted(MISSING, None, "none", f"reply is a {type(reply).__name__}, not text")
    fenced = _FENCE.match(reply)
    text = fenced.group(1) if fenced else reply
    try:
        whole = json.loads(text)
    except json.JSONDecodeError:
        whole = None
    if isinstance(whole, dict):
        return _from_object(whole, "json", None)
    objects = [o for o in _objects(text) if "throughput" in o[2]]
    if objects:
        start, end, obj = objects[-1]
        prose = _LABEL.sub("", (text[:start] + " " + text[end:]).strip()).strip()
        return _from_object(obj, "template", prose or None)
    return _from_text(text)
