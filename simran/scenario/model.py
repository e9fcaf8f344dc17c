"""The whole scenario (:class:`Scenario`): its sections and the checks across them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

from pydantic import Field, ValidationError, model_validator

from simran.errors import ScenarioError
from simran.scenario.sections import (
    AgentConfig,
    EventConfig,
    NetworkConfig,
    OutputConfig,
    SimulationConfig,
    SliceConfig,
    SlicingConfig,
    UEGroupConfig,
    _at,
    _is_whole_us,
    _Model,
)


class Scenario(_Model):
    """A complete, validated scenario."""

    name: str = Field("scenario", description="scenario name")
    description: str = Field("", description="free text")
    simulation: SimulationConfig = Field(default_factory=SimulationConfig)
    network: NetworkConfig = Field(default_factory=NetworkConfig)
    slicing: SlicingConfig = Field(default_factory=SlicingConfig)
    slices: Annotated[list[SliceConfig], Field(min_length=1)] = Field(
        default_factory=lambda: [SliceConfig(name="default")])
    ue_groups: list[UEGroupConfig] = Field(default_factory=list)
    events: list[EventConfig] = Field(default_factory=list)
    agents: list[AgentConfig] = Field(default_factory=list)
    output: OutputConfig = Field(default_factory=OutputConfig)
    #: directory the scenario file lives in (relative paths resolve against it); not serialised
    base_dir: str = Field(".", exclude=True, description="directory of the scenario file")
    #: the file (or "<dict>") the scenario came from, for error messages; not serialised
    source: str = Field("<dict>", exclude=True, description="scenario file, for error messages")

    @model_validator(mode="after")
    def _cross_checks(self):
        names = [s.name for s in self.slices]
        if len(set(names)) != len(names):
            raise ValueError(_at("slices", f"slice names must be unique, got {names}"))
        total = sum(s.quota_pct for s in self.slices)
        if total > 100.0 + 1e-9:
            raise ValueError(_at("slices", f"quota_pct values add up to {total:g} % > 100 %"))
        for i, g in enumerate(self.ue_groups):
            if g.slice not in names:
                raise ValueError(_at(f"ue_groups.{i}.slice", f"{g.slice!r} is not a slice "
                                     f"({', '.join(names)})"))
        far = self.network.isd_m / 3 ** 0.5
        for i, g in enumerate(self.ue_groups):
            # static and random-waypoint UEs are dropped ≥ min_distance_m from every site and
            # ≤ ISD/√3 + area_margin_m from the nearest (simran.ue.population)
            if g.count and g.mobility in ("static", "random_waypoint") and \
                    g.min_distance_m >= far + g.area_margin_m:
                raise ValueError(_at(f"ue_groups.{i}.min_distance_m", f"{g.min_distance_m:g} m "
                                     f"leaves no room to drop UEs: they are dropped within "
                                     f"ISD/√3 + area_margin_m = {far + g.area_margin_m:.4g} m "
                                     f"of a site (network.isd_m = {self.network.isd_m:g} m)"))
        for i, e in enumerate(self.events):
            if e.slice is not None and e.slice not in names:
                raise ValueError(_at(f"events.{i}.slice", f"{e.slice!r} is not a slice "
                                     f"({', '.join(names)})"))
            needs_value = e.action in ("set_slice_quota", "set_cell_power", "set_intent")
            if needs_value and e.value is None:
                raise ValueError(_at(f"events.{i}.value", f"action {e.action} needs a value"))
            if e.action in ("set_slice_quota", "set_intent") and e.slice is None:
                raise ValueError(_at(f"events.{i}.slice", f"action {e.action} needs a slice"))
        agent_names = [a.name for a in self.agents]
        if len(set(agent_names)) != len(agent_names):
            raise ValueError(_at("agents", f"agent names must be unique, got {agent_names}"))
        if self.simulation.tick_ms * 1000 != int(round(self.simulation.tick_ms * 1000)):
            raise ValueError(_at("simulation.tick_ms", "must be a whole number of microseconds"))
        self._check_timing()
        n_cells = self.n_cells_estimate()          # exact for every layout (tests check it)
        for i, e in enumerate(self.events):
            if e.cell is not None and e.cell >= n_cells:
                raise ValueError(_at(f"events.{i}.cell", f"cell {e.cell} does not exist (the "
                                     f"network has {n_cells} cells: 0…{n_cells - 1})"))
        return self

    def _check_timing(self) -> None:
        """Periods and the duration against the tick (see docs/errors.md for the choices)."""
        sim, tick_us = self.simulation, round(self.simulation.tick_ms * 1000)
        dur_us = sim.duration_s * 1e6
        if round(dur_us) < tick_us:
            raise ValueError(_at("simulation.duration_s", f"{sim.duration_s:g} s is shorter "
                                 f"than one {sim.tick_ms:g} ms tick"))
        if abs(dur_us - round(dur_us)) > 1e-6 * max(1.0, dur_us) or round(dur_us) % tick_us:
            raise ValueError(_at("simulation.duration_s", f"{sim.duration_s:g} s is not a whole "
                                 f"number of {sim.tick_ms:g} ms ticks (the run would end at "
                                 "the next tick boundary)"))
        for name in ("mobility_period_ms", "measurement_period_ms"):
            if not _is_whole_us(getattr(sim, name)):
                raise ValueError(_at(f"simulation.{name}", f"{getattr(sim, name)!r} ms is not "
                                     "a whole number of microseconds"))
        for name in ("kpi_period_ms", "ue_kpi_period_ms"):
            v = getattr(self.output, name)
            if v is None or v <= sim.tick_ms:        # shorter: one record per tick (a note)
                continue
            us = v * 1000.0
            if abs(us - round(us)) > 1e-6 * us or round(us) % tick_us:
                raise ValueError(_at(f"output.{name}", f"{v:g} ms is not a multiple of the "
                                     f"{sim.tick_ms:g} ms tick (KPI periods are whole ticks; "
                                     "e.g. " + ", ".join(f"{k * sim.tick_ms:g}" for k in (
                                         max(1, int(v // sim.tick_ms)),
                                         int(v // sim.tick_ms) + 1)) + " ms)"))

    def notes(self) -> list[str]:
        """What the loader rounded or what will not happen, one line each (the CLI prints them
        as ``simran: note: …``); see docs/errors.md."""
        out = []
        sim, dur = self.simulation, self.simulation.duration_s
        for name in ("kpi_period_ms", "ue_kpi_period_ms"):
            v = getattr(self.output, name)
            if v is not None and v < sim.tick_ms:
                out.append(f"output.{name} = {v:g} ms is shorter than the {sim.tick_ms:g} ms "
                           f"tick: KPIs are recorded once per tick ({sim.tick_ms:g} ms)")
        tick_us = round(sim.tick_ms * 1000)
        for i, e in enumerate(self.events):
            if e.at_s >= dur:
                out.append(f"events.{i} ({e.action} at {e.at_s:g} s) is at or after the end of "
                           f"the run ({dur:g} s) and will not be applied")
            elif round(e.at_s * 1e6) % tick_us:
                nxt = -(-round(e.at_s * 1e6) // tick_us) * tick_us / 1e6
                out.append(f"events.{i} ({e.action} at {e.at_s:g} s) is between ticks: it is "
                           f"applied at the next tick boundary, {nxt:g} s")
        for i, a in enumerate(self.agents):
            if a.backend == "auto":
                out.append(f"agents.{i} ({a.name}): backend 'auto' uses Ollama if a server "
                           "answers, else the embedded model if it can run, else the scripted "
                           "policy; `simran run` prints which one answered")
        return out

    def n_cells_estimate(self) -> int:
        """Number of cells the network section builds (hex rings, hermes10 or sites × sectors)."""
        n = self.network
        sites = {"hex": 1 + 3 * n.rings * (n.rings + 1), "hermes10": 10,
                 "sites": len(n.sites)}[n.layout]
        return sites * n.sectors

    def check_cells(self, n_cells: int) -> None:
        """Scripted events that name a cell the built topology does not have are errors (the
        schema checks them against :meth:`n_cells_estimate` already; this is the check against
        the real topology; trace groups are checked where their traces are loaded,
        :mod:`simran.ue.trace`).

        Raises
        ------
        ScenarioError
            Naming the file, ``events.<i>.cell`` and the range of cells.
        """
        bad = [(f"events.{i}.cell", f"cell {e.cell} does not exist (the network has {n_cells} "
                f"cells: 0…{n_cells - 1})") for i, e in enumerate(self.events)
               if e.cell is not None and e.cell >= n_cells]
        if bad:
            raise ScenarioError(self.source, bad)

    def estimate_size(self) -> dict:
        """A pre-flight estimate of a run's size (before anything is allocated).

        Returns
        -------
        dict
            ``cells``, ``ues`` (trace groups not counted), ``ticks`` and ``memory_bytes``: the
            [cells × UEs] channel state (about 16 float64 arrays), the KPI records (cell and
            slice tables every KPI period, the UE table every UE KPI period, ×3 for the
            long-form copies made when the results are written) — an order of magnitude, not an
            exact figure.
        """
        sim, out = self.simulation, self.output
        C = self.n_cells_estimate()
        U = sum(g.count for g in self.ue_groups if g.mobility != "trace")
        S = len(self.slices)
        ticks = round(sim.duration_s * 1000 / sim.tick_ms)
        kpi_ms = max(out.kpi_period_ms, sim.tick_ms)
        n_kpi = sim.duration_s * 1000 / kpi_ms
        n_ue = sim.duration_s * 1000 / max(out.ue_kpi_period_ms or kpi_ms, sim.tick_ms)
        mem = 16 * 8 * C * U + 64 * U                       # channel state, per-UE vectors
        mem += 3 * 8 * n_kpi * (8 * C + 8 * C * S)          # cell and slice KPI tables
        if out.ue_kpis:
            mem += 3 * 8 * 13 * n_ue * U                    # UE KPI table
        return {"cells": C, "ues": U, "ticks": ticks, "memory_bytes": int(mem)}

    def check_size(self, limit_bytes: int | None = None) -> dict:
        """Refuse a run whose estimated memory exceeds ``limit_bytes``.

        Parameters
        ----------
        limit_bytes : int, optional
            Default: :func:`memory_limit_bytes` (75 % of this machine's memory).

        Returns
        -------
        dict
            :meth:`estimate_size`.

        Raises
        ------
        SizeError
            Naming the file, the size and how to override (``--allow-large``).
        """
        from simran.errors import SizeError

        est = self.estimate_size()
        limit = memory_limit_bytes() if limit_bytes is None else limit_bytes
        if est["memory_bytes"] > limit:
            raise SizeError(
                f"{self.source}: the run is too large: about {est['memory_bytes'] / 2**30:.1f} "
                f"GiB of memory estimated ({est['cells']} cells × {est['ues']} UEs, "
                f"{est['ticks']} ticks) against a limit of {limit / 2**30:.1f} GiB (75 % of "
                "this machine's memory); reduce ue_groups.*.count, the duration or UE KPIs "
                "(output.ue_kpis = false, a longer output.ue_kpi_period_ms), or pass "
                "--allow-large to try anyway")
        return est

    # ----------------------------------------------------------------------------------------
    @classmethod
    def from_dict(cls, data: dict, source: str = "<dict>", base_dir: str | Path = ".") -> Scenario:
        """Validate a raw document; raise :class:`ScenarioError` listing every problem."""
        try:
            scen = cls.model_validate({**data, "base_dir": str(base_dir), "source": str(source)})
        except ValidationError as exc:
            raise ScenarioError(source, _problems(exc)) from None
        return scen

    def to_dict(self) -> dict:
        """The fully resolved scenario as JSON-able data (what results files store)."""
        return self.model_dump(mode="json")

    def to_json(self) -> str:
        """Canonical JSON (sorted keys) of the resolved scenario."""
        return json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"))

    def resolve_path(self, p: str | Path) -> Path:
        """Resolve a path given in the scenario relative to the scenario file's folder."""
        p = Path(p)
        return p if p.is_absolute() else Path(self.base_dir) / p


def _problems(exc: ValidationError) -> list[tuple[str, str]]:
    out = []
    for err in exc.errors():
        loc = ".".join(str(x) for x in err["loc"] if x not in ("function-after",))
        msg = err["msg"]
        if "@" in msg and msg.count("@") >= 2 and err["type"] == "value_error":
            _, sub, reason = msg.split("@", 2)
            out.append((".".join(p for p in (loc, sub) if p), reason))
            continue
        if err["type"] == "value_error":
            out.append((loc, msg.removeprefix("Value error, ")))
            continue
        if err["type"] == "extra_forbidden":
            msg = "unknown field (not part of the scenario schema)"
        elif "input" in err and err["type"] not in ("missing",):
            msg = f"{msg} (got {err['input']!r})"
        out.append((loc, msg))
    return out


def memory_limit_bytes() -> int:
    """75 % of the memory this process may use (physical memory, or a smaller cgroup limit)."""
    import os

    total = 16 * 2**30
    try:
        total = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):  # pragma: no cover - not POSIX
        pass
    for cg in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            text = Path(cg).read_text().strip()
        except OSError:
            continue
        if text.isdigit():
            total = min(total, int(text))
    return int(0.75 * total)


