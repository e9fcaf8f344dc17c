"""Regulatory unit (papers/003 §III-3): negotiation constraints from a rules file.

MAESTRO's regulatory unit retrieves constraints from regulators' documents (e.g. the maximum
bandwidth of a band). Here the constraints come from a TOML file::

    capacity_mbps = 134.0          # optional: no bid or consensus above it
    [default]                      # optional: bounds of tenants not listed below
    min_mbps = 0.0
    max_mbps = 100.0
    [tenants.cost]                 # per-tenant bounds on its bids, Mbit/s
    min_mbps = 10.0
    max_mbps = 60.0

A tenant's effective bounds are its ``[min_mbps, max_mbps]`` intersected with the SLA range
[0, 100] and ``[0, capacity_mbps]``. A file whose bounds leave a tenant no feasible bid, or leave
no value every tenant may bid (so no consensus can satisfy the rules), is rejected with a
:class:`~agents.negotiation.errors.RulesError` naming the file, the field and the reason — all
problems at once.
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from agents.negotiation.errors import RulesError

SLA_RANGE_MBPS = (0.0, 100.0)
_TOP_KEYS = {"capacity_mbps", "default", "tenants", "description"}
_BOUND_KEYS = {"min_mbps", "max_mbps"}


@dataclass(frozen=True)
class Rules:
    """Validated negotiation rules (build with :func:`load_rules` or :func:`rules_from_dict`).

    Attributes
    ----------
    source : str
        The file the rules came from.
    capacity_mbps : float or None
        Upper bound on every bid and on the consensus.
    default : (float, float)
        ``(min_mbps, max_mbps)`` of tenants not listed.
    tenants : dict of str to (float, float)
        Declared ``(min_mbps, max_mbps)`` per tenant.
    """

    source: str
    capacity_mbps: float | None = None
    default: tuple[float, float] = SLA_RANGE_MBPS
    tenants: dict[str, tuple[float, float]] = field(default_factory=dict)

    def _effective(self, lo: float, hi: float) -> tuple[float, float]:
        cap = SLA_RANGE_MBPS[1] if self.capacity_mbps is None else self.capacity_mbps
        return max(lo, SLA_RANGE_MBPS[0]), min(hi, SLA_RANGE_MBPS[1], cap)

    def bounds(self, tenant: str) -> tuple[float, float]:
        """Effective ``(min, max)`` bid of ``tenant`` in Mbit/s."""
        return self._effective(*self.tenants.get(tenant, self.default))

    def check(self, tenant: str, bid_mbps: float) -> str:
        """``""`` if the bid satisfies the rules, else why not."""
        lo, hi = self.bounds(tenant)
        if lo <= bid_mbps <= hi:
            return ""
        return (f"bid {bid_mbps:g} Mbit/s of {tenant} outside its regulatory bounds "
                f"[{lo:g}, {hi:g}] ({self.source})")

    def clip(self, tenant: str, bid_mbps: float) -> float:
        """The nearest bid within the tenant's bounds."""
        lo, hi = self.bounds(tenant)
        return min(max(bid_mbps, lo), hi)

    def consensus_range(self, tenants=None) -> tuple[float, float]:
        """Values every tenant in ``tenants`` (default: the listed ones) may bid."""
        names = list(self.tenants) if tenants is None else list(tenants)
        pairs = [self.bounds(t) for t in names] or [self._effective(*self.default)]
        return max(p[0] for p in pairs), min(p[1] for p in pairs)

    def prompt_text(self, tenant: str) -> str:
        """The constraints for ``tenant``'s prompt."""
        lo, hi = self.bounds(tenant)
        text = (f"Regulatory constraints: your throughput bids must lie within [{lo:g}, {hi:g}] "
                "Mbit/s.")
        if self.capacity_mbps is not None:
            text += f" The slice capacity is {self.capacity_mbps:g} Mbit/s."
        return text


def _number(value, where: str, problems: list) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        problems.append((where, f"must be a finite number (Mbit/s), got {value!r}"))
        return None
    return float(value)


def _bounds(table, where: str, problems: list) -> tuple[float, float] | None:
    if not isinstance(table, dict):
        problems.append((where, "must be a table with min_mbps and max_mbps"))
        return None
    for key in sorted(set(table) - _BOUND_KEYS):
        problems.append((f"{where}.{key}", "unknown field (use min_mbps, max_mbps)"))
    lo = _number(table.get("min_mbps", SLA_RANGE_MBPS[0]), f"{where}.min_mbps", problems)
    hi = _number(table.get("max_mbps", SLA_RANGE_MBPS[1]), f"{where}.max_mbps", problems)
    return None if lo is None or hi is None else (lo, hi)


def _infeasible(rules: Rules, where: str, lo: float, hi: float) -> list[tuple[str, str]]:
    """Why a (min, max) pair leaves no feasible bid, as (field, reason) pairs."""
    cap = rules.capacity_mbps
    if lo > SLA_RANGE_MBPS[1]:
        return [(f"{where}.min_mbps",
                 f"min_mbps={lo:g} above the SLA range [0, 100] Mbit/s: no bid is feasible")]
    if hi < SLA_RANGE_MBPS[0]:
        return [(f"{where}.max_mbps", f"max_mbps={hi:g} below 0 Mbit/s: no bid is feasible")]
    if lo > hi:
        return [(f"{where}.min_mbps", f"min_mbps={lo:g} > max_mbps={hi:g}: no bid is feasible")]
    if cap is not None and lo > cap:
        return [(f"{where}.min_mbps",
                 f"min_mbps={lo:g} above capacity_mbps={cap:g}: no bid is feasible")]
    return []


def _conflict(rules: Rules) -> list[tuple[str, str]]:
    """A pair of tenants with no common value, if any."""
    if len(rules.tenants) < 2:
        return []
    bounds = {t: rules.bounds(t) for t in rules.tenants}
    high_min = max(bounds, key=lambda t: bounds[t][0])
    low_max = min(bounds, key=lambda t: bounds[t][1])
    if bounds[high_min][0] <= bounds[low_max][1]:
        return []
    return [("tenants", f"no common value: tenants.{high_min} needs >= {bounds[high_min][0]:g} "
                        f"Mbit/s but tenants.{low_max} allows <= {bounds[low_max][1]:g} Mbit/s, "
                        "so no consensus satisfies the rules")]


def rules_from_dict(data: dict, source: str = "<dict>") -> Rules:
    """Validate a parsed rules document (see the module docstring).

    Raises
    ------
    RulesError
        Naming ``source``, each offending field and the reason.
    """
    problems: list[tuple[str, str]] = []
    for key in sorted(set(data) - _TOP_KEYS):
        problems.append((key, f"unknown field (use {', '.join(sorted(_TOP_KEYS))})"))
    cap = None
    if "capacity_mbps" in data:
        cap = _number(data["capacity_mbps"], "capacity_mbps", problems)
        if cap is not None and cap < 0:
            problems.append(("capacity_mbps", f"capacity_mbps={cap:g} < 0: no bid is feasible"))
    default = _bounds(data.get("default", {}), "default", problems) or SLA_RANGE_MBPS
    tenants_raw = data.get("tenants", {})
    if not isinstance(tenants_raw, dict):
        problems.append(("tenants", "must be a table of per-tenant tables"))
        tenants_raw = {}
    tenants = {str(t): _bounds(v, f"tenants.{t}", problems) for t, v in tenants_raw.items()}
    rules = Rules(source, cap, default, {t: b for t, b in tenants.items() if b is not None})
    if not problems:
        problems += _infeasible(rules, "default", *default)
        for tenant, (lo, hi) in rules.tenants.items():
            problems += _infeasible(rules, f"tenants.{tenant}", lo, hi)
    if not problems:
        problems += _conflict(rules)
    if problems:
        raise RulesError(source, problems)
    return rules


def load_rules(path) -> Rules:
    """Read and validate a TOML rules file.

    Raises
    ------
    RulesError
        If the file is missing, not TOML, malformed or makes every bid (or every consensus)
        infeasible.
    """
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RulesError(str(path), [("", "file not found")]) from None
    except tomllib.TOMLDecodeError as exc:
        raise RulesError(str(path), [("", f"not valid TOML: {exc}")]) from None
    return rules_from_dict(data, str(path))
