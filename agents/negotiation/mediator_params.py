"""The mediator's scenario parameters: read, check, and set on the agent (all problems at once).

Split out of :mod:`agents.negotiation.mediator` (the parameters are listed in its docstring).
A problem is a ``(field path, reason)`` pair; :func:`configure` raises one
:class:`~simran.errors.ScenarioError` naming the scenario file and every problem.
"""

from __future__ import annotations

import math
from pathlib import Path

from agents.negotiation.errors import RulesError
from agents.negotiation.game import DEFAULT_EPSILON_MBPS, DEFAULT_K_MAX
from agents.negotiation.optimizer import SidecarOptimizer
from agents.negotiation.pressure import PRESSURES
from agents.negotiation.regulatory import Rules, load_rules
from agents.negotiation.tenant import _scenario_where
from simran.errors import ScenarioError
from simran.units import US_PER_S


def _scenario_agent_names(ctx):
    return [a.name for a in ctx.scenario.agents]


def _tenant_slice(ctx, tenants):
    for a in ctx.scenario.agents:
        if tenants and a.name == tenants[0]:
            return a.params.get("slice")
    return None


def configure(self, ctx) -> None:
    """Read ``ctx.params`` into the mediator ``self``; raise ``ScenarioError`` listing every
    problem (file, ``agents.<i>.params.<key>``, reason)."""
    p = ctx.params
    source, base_dir, idx = _scenario_where(ctx)
    self._source, self._idx = source, idx
    problems = []
    tenants = p.get("tenants")
    names = _scenario_agent_names(ctx)
    if tenants is None:
        problems.append((f"agents.{idx}.params.tenants", "required: the tenant agents' names"))
        tenants = []
    elif not isinstance(tenants, list) or not all(isinstance(t, str) for t in tenants):
        problems.append((f"agents.{idx}.params.tenants", f"must be a list of agent names, got "
                                                         f"{tenants!r}"))
        tenants = []
    else:
        missing = [t for t in tenants if names is not None and t not in names]
        dup = sorted({t for t in tenants if tenants.count(t) > 1})
        if missing:
            problems.append((f"agents.{idx}.params.tenants",
                             f"no agent named {', '.join(map(repr, missing))} in this "
                             f"scenario (agents: {', '.join(names or [])})"))
        if dup:
            problems.append((f"agents.{idx}.params.tenants", f"listed twice: {dup}"))
        if self.name in tenants:
            problems.append((f"agents.{idx}.params.tenants",
                             "the mediator cannot be its own tenant"))
    self.tenants = list(tenants)
    self.pressure = p.get("pressure", "soft")
    if self.pressure not in PRESSURES:
        problems.append((f"agents.{idx}.params.pressure",
                         f"{self.pressure!r}: use one of {', '.join(PRESSURES)}"))
    num = {}
    for key, default, lo in (("epsilon_mbps", DEFAULT_EPSILON_MBPS, 0.0),
                             ("k_max", DEFAULT_K_MAX, 1), ("start_s", 1.0, 0.0),
                             ("deadline_s", self.budget_ms / 1e3, 0.0),
                             ("tolerance_mbps", 5.0, 0.0), ("restarts", 100, 2),
                             ("jitter_mbps", 5.0, 0.0), ("alpha", 7.0, 0.0),
                             ("gamma", 7.0, 0.0)):
        v = p.get(key, default)
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) \
                or v < lo or (key in ("epsilon_mbps", "deadline_s", "alpha", "gamma")
                              and v <= 0):
            problems.append((f"agents.{idx}.params.{key}", f"must be a number "
                             f"{'>' if key in ('epsilon_mbps', 'deadline_s') else '>='} {lo:g}"
                             f", got {v!r}"))
            v = default
        num[key] = v
    self.epsilon = float(num["epsilon_mbps"])
    self.k_max = int(num["k_max"])
    self.start_us = int(round(num["start_s"] * US_PER_S))
    self.deadline_ms = float(num["deadline_s"]) * 1e3
    self.tolerance = float(num["tolerance_mbps"])
    self.optimizer = SidecarOptimizer(alpha=num["alpha"], gamma=num["gamma"],
                                      restarts=int(num["restarts"]),
                                      jitter_mbps=num["jitter_mbps"], rng=self.rng)
    self.use_weights = bool(p.get("arbitral", True))
    self.workers = p.get("workers", "auto")
    self.max_tokens = int(p.get("max_tokens", 96))
    self.slice = p.get("slice")
    if self.slice is None:
        self.slice = _tenant_slice(ctx, self.tenants) or ctx.slice_names[0]
    if self.slice not in ctx.slice_names:
        problems.append((f"agents.{idx}.params.slice", f"no slice {self.slice!r} (slices: "
                                                       f"{', '.join(ctx.slice_names)})"))
    cap = p.get("capacity", "observed")
    if not (cap in ("observed", "none") or (isinstance(cap, (int, float))
                                            and not isinstance(cap, bool) and cap >= 0)):
        problems.append((f"agents.{idx}.params.capacity",
                         f"use 'observed', 'none' or a number of Mbit/s, got {cap!r}"))
        cap = "none"
    self.capacity_mode = cap
    self._slice_idx = ctx.slice_names.index(self.slice) if self.slice in ctx.slice_names \
        else 0
    self.rules: Rules | None = None
    if p.get("rules") is not None:
        path = Path(str(p["rules"]))
        path = path if path.is_absolute() else Path(base_dir) / path
        try:
            self.rules = load_rules(path)
        except RulesError as exc:
            problems += [(f"agents.{idx}.params.rules", f"{exc.source}: {f or '<file>'}: {r}")
                         for f, r in exc.problems]
        else:
            lo, hi = self.rules.consensus_range(self.tenants)
            if self.tenants and lo > hi:
                problems.append((f"agents.{idx}.params.rules",
                                 f"{path}: tenants: no value every tenant of this game may "
                                 f"bid (common range [{lo:g}, {hi:g}] is empty): every "
                                 "consensus is infeasible"))

    for key in ("renegotiate", "votes"):
        v = p.get(key, True)
        if not isinstance(v, bool):
            problems.append((f"agents.{idx}.params.{key}", f"must be true or false, got {v!r}"))
            v = True
        setattr(self, key, v)
    cell = p.get("cell", 0)
    if isinstance(cell, bool) or not isinstance(cell, int) or not 0 <= cell < ctx.n_cells:
        problems.append((f"agents.{idx}.params.cell",
                         f"must be a cell index in 0..{ctx.n_cells - 1}, got {cell!r}"))
        cell = 0
    self.cell = cell
    if problems:
        raise ScenarioError(source, problems)
