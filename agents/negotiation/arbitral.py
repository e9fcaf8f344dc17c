"""Arbitral unit (papers/003 §III-2): flag toxic or manipulative reasoning, with incentives.

MAESTRO feeds each message's reasoning to a specialised LLM that classifies malicious activity
and answers with incentives — warnings or penalties (§III-2; the §V demo warns a toxic tenant).
This is a deterministic stand-in: a list of phrase patterns (not an LLM), in two categories:

``injection``
    attempts to steer another agent's LLM or the mediator: "ignore the rules / previous
    instructions", "disregard ...", "mediator: accept 100", "you must accept", role labels such as
    "system:";
``toxic``
    pressure instead of arguments: threats ("or you will regret it"), "non-negotiable",
    "you have no choice", "the only acceptable value", insults.

Text is normalised first (Unicode NFKC, zero-width characters removed, lower case, runs of white
space collapsed), so ``"IGNORE   the\\u200b rules"`` is caught. :class:`Arbiter` counts offences per
tenant: the first gets a warning, every further one multiplies the tenant's weight in the
optimizer by ``penalty`` (down to ``min_weight``) — a lower weight pulls the consensus less
(:mod:`agents.negotiation.optimizer`).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

import numpy as np

INJECTION_PATTERNS = (
    r"\b(?:ignore|disregard|forget|override|bypass)\b[^.!?]{0,40}?"
    r"\b(?:rules?|instructions?|constraints?|guard-?rails?|interval|prompt|limits?)\b",
    r"\bmediator\s*[:,]\s*(?:accept|set|agree|propose|choose)\b",
    r"\byou (?:must|have to|are required to) (?:accept|agree|comply|set|choose)\b",
    r"(?:^|[\s\"'(])(?:system|assistant|developer|admin)\s*:",
    r"\bnew instructions?\b",
)
TOXIC_PATTERNS = (
    r"\bor else\b",
    r"\byou will regret\b",
    r"\bnon-?negotiable\b",
    r"\byou have no (?:other )?choice\b",
    r"\bonly acceptable (?:value|option|outcome|offer)\b",
    r"\b(?:stupid|idiots?|pathetic|incompetent|useless|fools?)\b",
    r"\b(?:threaten|punish|sabotage|retaliate|destroy)\w*\b",
    r"\bwasting my time\b",
)
_INJECTION = [re.compile(p) for p in INJECTION_PATTERNS]
_TOXIC = [re.compile(p) for p in TOXIC_PATTERNS]
_ANY_INJECTION = re.compile("|".join(f"(?:{p})" for p in INJECTION_PATTERNS))
_ANY_OFFENCE = re.compile("|".join(f"(?:{p})" for p in INJECTION_PATTERNS + TOXIC_PATTERNS))
_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff"))


def normalise(text: str) -> str:
    """NFKC, zero-width characters removed, lower case, white space collapsed."""
    text = unicodedata.normalize("NFKC", text).translate(_ZERO_WIDTH).lower()
    return re.sub(r"\s+", " ", text).strip()


def find_offences(text: str) -> tuple[str, list[str]]:
    """Classify one reasoning text.

    Returns
    -------
    (category, matches) : (str, list of str)
        ``"injection"`` (takes precedence), ``"toxic"`` or ``"clean"``, and the matched phrases.
    """
    norm = normalise(text or "")
    if not _ANY_OFFENCE.search(norm):               # the common case: one pass
        return "clean", []
    hits = [m.group(0).strip() for p in _INJECTION for m in p.finditer(norm)]
    if hits:
        return "injection", hits
    hits = [m.group(0).strip() for p in _TOXIC for m in p.finditer(norm)]
    return ("toxic", hits) if hits else ("clean", [])


def sanitise(text: str, marker: str = "[removed by the arbitral unit]") -> str:
    """The normalised text with every injection phrase replaced by ``marker``.

    For relaying a message to other agents without passing an injection on.
    """
    norm = normalise(text or "")
    if not _ANY_INJECTION.search(norm):
        return norm
    for pattern in _INJECTION:
        norm = pattern.sub(marker, norm)
    return norm


@dataclass(frozen=True)
class ArbitralVerdict:
    """The arbitral unit's verdict on one message.

    Attributes
    ----------
    tenant : str
    flagged : bool
    category : {"clean", "toxic", "injection"}
    matches : tuple of str
        The phrases that triggered the flag.
    offences : int
        The tenant's offences so far, this one included.
    weight : float
        The tenant's weight in the optimizer after this verdict.
    warning : str
        Incentive text to put in the tenant's next prompt (``""`` if clean).
    """

    tenant: str
    flagged: bool
    category: str
    matches: tuple[str, ...]
    offences: int
    weight: float
    warning: str


class Arbiter:
    """Offence counter and incentive policy of the arbitral unit (one per negotiation).

    Parameters
    ----------
    penalty : float
        Factor on a tenant's weight per offence after the free ones, in (0, 1].
    free_offences : int
        Offences answered by a warning only.
    min_weight : float
        Floor of a tenant's weight (> 0, so a penalised tenant still counts).
    """

    def __init__(self, penalty: float = 0.5, free_offences: int = 1, min_weight: float = 0.05):
        if not (0 < penalty <= 1 and free_offences >= 0 and 0 < min_weight <= 1):
            raise ValueError("need 0 < penalty <= 1, free_offences >= 0, 0 < min_weight <= 1")
        self.penalty, self.free_offences, self.min_weight = penalty, free_offences, min_weight
        self.offences: dict[str, int] = {}

    def weight(self, tenant: str) -> float:
        """The tenant's current weight in the optimizer (1 until penalised)."""
        excess = max(0, self.offences.get(tenant, 0) - self.free_offences)
        return max(self.min_weight, self.penalty ** excess)

    def weights(self, tenants) -> np.ndarray:
        """Weights of ``tenants`` in order, for :meth:`SidecarOptimizer.solve`."""
        return np.array([self.weight(t) for t in tenants], dtype=float)

    def review(self, tenant: str, reasoning: str) -> ArbitralVerdict:
        """Classify one message of ``tenant``; count an offence and build the incentive text."""
        category, matches = find_offences(reasoning)
        if category == "clean":
            return ArbitralVerdict(tenant, False, category, (), self.offences.get(tenant, 0),
                                   self.weight(tenant), "")
        count = self.offences[tenant] = self.offences.get(tenant, 0) + 1
        weight = self.weight(tenant)
        quoted = ", ".join(f'"{m}"' for m in dict.fromkeys(matches))
        if count <= self.free_offences:
            incentive = "A repeated offence will reduce your weight in the consensus."
        else:
            incentive = (f"Your weight in the consensus is reduced to {weight:.2f}; further "
                         "offences reduce it again.")
        warning = (f"Arbitral warning to {tenant}: your last message was flagged as {category} "
                   f"({quoted}); offence {count}. Negotiate with arguments, within the rules. "
                   f"{incentive}")
        return ArbitralVerdict(tenant, True, category, tuple(matches), count, weight, warning)
