"""Scenario files: a TOML file → a validated, fully resolved :class:`Scenario`.

Every parameter is declared once, here, with its type, unit (in the name or the description),
default, range and help text (design §6; ns-3 attributes). Unknown fields are errors
(``extra="forbid"``): a typo never silently falls back to a default. A bad file fails fast with
the file, the field path and the reason (:class:`simran.errors.ScenarioError`), before anything
runs.

``--set path.to.field=value`` overrides (see :func:`apply_overrides`) are applied to the raw
document before validation, so an override is checked exactly like a value in the file. Every run
stores its fully resolved scenario (:meth:`Scenario.to_dict`) next to its results.
"""

from __future__ import annotations

import copy
import json
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from simran.errors import ScenarioError
from simran.mac.policies import available_policies, policy_class

# --------------------------------------------------------------------------------------------
# sections


class _Model(BaseModel):
    # strict: a quoted "5" or `true` is not a number; TOML already gives typed values
    # allow_inf_nan=False: inf and nan are errors in every float field (issue 17)
    model_config = ConfigDict(extra="forbid", validate_assignment=True, strict=True,
                              allow_inf_nan=False)


class SimulationConfig(_Model):
    """Clock, duration and randomness of a run (design §2, §7)."""

    duration_s: float = Field(10.0, gt=0, le=86_400, description="simulated duration [s]")
    tick_ms: float = Field(5.0, gt=0, le=1000, description="MAC scheduler tick [ms]; SINR, CQI "
                           "and PRB allocation are recomputed every tick")
    mobility_period_ms: float = Field(100.0, gt=0, description="period of UE movement and of the "
                                      "large-scale channel update (path loss, shadowing, LOS) [ms]")
    measurement_period_ms: float = Field(40.0, gt=0, description="period of RSRP measurement "
                                         "reports and handover (A3) evaluation [ms]")
    seed: int = Field(1, ge=0, le=2**63 - 1, description="root seed of the run (numpy "
                      "SeedSequence); same scenario + same seed ⇒ identical results")


class SiteConfig(_Model):
    """One explicitly placed site."""

    # ±10,000 km: beyond that distances overflow in the channel's float arithmetic
    x_m: float = Field(ge=-1e7, le=1e7, description="site x coordinate [m]")
    y_m: float = Field(ge=-1e7, le=1e7, description="site y coordinate [m]")


class AntennaConfig(_Model):
    """BS antenna (TR 38.901 Table 7.3-1 element pattern, or omni)."""

    model: Literal["tr38901", "omni"] = Field("tr38901", description="antenna pattern")
    max_gain_dbi: float = Field(8.0, ge=-10, le=30, description="maximum gain G_E,max [dBi] "
                                "(TR 38.901 Table 7.3-1: 8 dBi per element)")
    downtilt_deg: float = Field(6.0, ge=0, le=45, description="electrical downtilt below the "
                                "horizon [deg]")
    hpbw_deg: float = Field(65.0, gt=0, le=360, description="horizontal and vertical 3 dB "
                            "beamwidth φ_3dB = θ_3dB [deg]")


class HandoverConfig(_Model):
    """A3 event handover: neighbour RSRP > serving RSRP + offset for time-to-trigger."""

    enabled: bool = Field(True, description="evaluate A3 handovers")
    a3_offset_db: float = Field(3.0, ge=0, le=30, description="A3 offset incl. hysteresis [dB]")
    ttt_ms: float = Field(160.0, ge=0, le=5120, description="time to trigger [ms] (TS 38.331 "
                          "values 0…5120 ms)")
    l3_filter_k: int = Field(4, ge=0, le=19, description="layer-3 RSRP filter coefficient k "
                             "(TS 38.331 filterCoefficient, TS 38.300: F_n = (1−a)F_{n−1} + a·M_n, "
                             "a = 1/2^(k/4)); 0 = no filtering")


class NetworkConfig(_Model):
    """Topology, carrier and radio parameters of every cell."""

    layout: Literal["hex", "hermes10", "sites"] = Field(
        "hex", description="hex: `rings` of hexagonal sites; hermes10: the Hermes paper's 10 "
        "tri-sectorised sites (papers/000 §IV); sites: the explicit `sites` list")
    rings: int = Field(1, ge=0, le=6, description="hex rings around the centre site (0 → 1 site, "
                       "1 → 7, 2 → 19)")
    isd_m: float = Field(500.0, gt=0, le=50_000, description="inter-site distance [m]")
    sites: list[SiteConfig] = Field(default_factory=list, description="explicit site list "
                                    "(layout = 'sites')")
    sectors: Literal[1, 3] = Field(3, description="sectors per site (1 = omni cell)")
    scenario: Literal["UMa", "UMi"] = Field("UMa", description="TR 38.901 propagation scenario")
    carrier_ghz: float = Field(3.5, ge=0.5, le=100, description="carrier frequency f_c [GHz]")
    bandwidth_mhz: float = Field(40.0, gt=0, description="channel bandwidth [MHz]; with "
                                 "scs_khz gives N_PRB per TS 38.101-1 Table 5.3.2-1")
    scs_khz: Literal[15, 30, 60, 120] = Field(30, description="subcarrier spacing [kHz] "
                                              "(numerology μ = log2(scs/15))")
    tx_power_dbm: float = Field(46.0, ge=-10, le=60, description="transmit power per cell over "
                                "the whole bandwidth [dBm]")
    bs_height_m: float | None = Field(None, gt=0, le=300, description="BS height [m]; default by "
                                      "scenario (UMa 25 m, UMi 10 m, TR 38.901 Table 7.4.1-1)")
    ue_height_m: float = Field(1.5, ge=1.0, le=22.5, description="UE height [m]")
    noise_figure_db: float = Field(9.0, ge=0, le=20, description="UE noise figure [dB] (TR 38.901"
                                   " calibration: 9 dB)")
    shadowing: bool = Field(True, description="log-normal shadowing (TR 38.901 Table 7.4.1-1 σ_SF)"
                            ", spatially consistent along UE tracks")
    fast_fading: Literal["none", "rayleigh"] = Field(
        "none", description="fast fading of the serving link: none, or flat block Rayleigh "
        "(|h|² ~ Exp(1), independent per UE and tick; interference stays averaged). It gives "
        "proportional fair multi-user diversity to exploit")
    los_model: Literal["probabilistic", "los", "nlos"] = Field(
        "probabilistic", description="LOS state: TR 38.901 Table 7.4.2-1 probability drawn with "
        "spatial consistency, or forced")
    antenna: AntennaConfig = Field(default_factory=AntennaConfig)
    handover: HandoverConfig = Field(default_factory=HandoverConfig)
    cqi_table: Literal["table1", "table2", "table3"] = Field("table1", description="CQI table of "
                                                             "TS 38.214 Table 5.2.2.1-2/-3/-4")
    mcs_table: Literal["qam64", "qam256", "qam64LowSE"] = Field("qam64", description="PDSCH MCS "
                                                                "table, TS 38.214 5.1.3.1-1/2/3")
    sinr_to_cqi: Literal["nr_mathworks", "lte_fan", "analytic"] = Field(
        "nr_mathworks", description="SINR→CQI threshold table (simran.radio.link)")
    layers: int = Field(1, ge=1, le=8, description="MIMO layers v")
    overhead: float = Field(0.14, ge=0, lt=1, description="overhead OH of TS 38.306 §4.1.2 "
                            "(0.14 FR1 DL)")
    bs_type: Literal["macro", "rrh", "micro", "pico", "femto"] = Field(
        "macro", description="EARTH power-model class (Auer et al. 2011)")

    @property
    def frequency_range(self) -> str:
        """FR1 up to 7.125 GHz, FR2 above (TS 38.104 §5.1)."""
        return "FR1" if self.carrier_ghz <= 7.125 else "FR2"

    @model_validator(mode="after")
    def _check_sites(self):
        if self.layout == "sites" and not self.sites:
            raise ValueError(_at("sites", "layout = 'sites' needs a non-empty `sites` list (no "
                                 "cells otherwise)"))
        if self.layout != "sites" and self.sites:
            raise ValueError(_at("sites", f"`sites` is given but layout = {self.layout!r}; set "
                                 "layout = 'sites'"))
        from simran.radio.link import prb_count

        try:
            prb_count(self.bandwidth_mhz, self.scs_khz, self.frequency_range)
        except ValueError as exc:
            raise ValueError(_at("bandwidth_mhz", str(exc))) from None
        return self


class SliceConfig(_Model):
    """A network slice of a tenant with a PRB quota in every cell."""

    name: str = Field(min_length=1, max_length=64, description="slice name (unique)")
    tenant: str = Field("default", description="tenant owning the slice")
    quota_pct: float = Field(100.0, ge=0, le=100, description="PRB quota [% of the cell's PRBs]")
    policy: str = Field("pf", description="intra-slice scheduler policy, a name registered in "
                        "simran.mac.policies: " + ", ".join(
                            f"{n} = {policy_class(n).description}" for n in available_policies()),
                        json_schema_extra=lambda schema: schema.update(enum=list(
                            available_policies())))

    @field_validator("policy")
    @classmethod
    def _known_policy(cls, v: str) -> str:
        if v not in available_policies():     # the registry, so a new policy class is accepted
            raise ValueError(f"unknown policy {v!r}; available: "
                             f"{', '.join(available_policies())}")
        return v


class SlicingConfig(_Model):
    """Inter-slice sharing."""

    lending: bool = Field(False, description="lend PRBs a slice leaves unused to slices with "
                          "unmet demand in the same cell (default: hard cap)")
    pf_time_constant_ms: float = Field(100.0, gt=0, description="averaging window of the "
                                       "proportional-fair throughput average [ms]")


class TraceMobility(_Model):
    """Which traces drive trace-mobility UEs (issue 3)."""

    file: str = Field(description="trace-set HDF5 file (relative to the scenario file)")
    ids: list[str] | None = Field(None, description="trace ids; default: all (or `first`)")
    first: int | None = Field(None, ge=1, description="take the first N traces")
    offset_s: float = Field(0.0, ge=0, description="start offset into each trace [s]")
    end: Literal["stop", "loop", "hold"] = Field("loop",
                                                 description="what happens at a trace's end")
    sampling: Literal["hold", "interpolate"] = Field("hold", description="how samples map to ticks")
    cell: int = Field(0, ge=0, description="serving cell of trace UEs (traces carry CQI, not "
                      "geometry)")


class UEGroupConfig(_Model):
    """A group of UEs with the same slice, mobility and traffic."""

    name: str = Field("ues", description="group name")
    count: int = Field(1, ge=0, le=100_000, description="number of UEs (ignored for trace groups:"
                       " one UE per selected trace)")
    slice: str = Field(description="slice name the UEs belong to")
    mobility: Literal["static", "random_waypoint", "vehicle", "trace"] = Field(
        "static", description="static drop, random waypoint, vehicles along routes, or trace")
    speed_mps: float = Field(0.0, ge=0, le=150, description="speed [m/s] (random waypoint, "
                             "vehicle)")
    route: list[Annotated[tuple[float, float], Field(strict=False)]] | None = Field(
        None, description="vehicle route as [[x_m, y_m], …]; vehicles are spread along it and "
        "loop; default: straight roads across the area")
    area_margin_m: float = Field(0.0, ge=0, le=1e6, description="drop area = hull of the sites' "
                                 "bounding box extended by ISD/2 + this margin [m]")
    min_distance_m: float = Field(35.0, ge=0, description="minimum 2D distance to any site at "
                                  "drop [m] (TR 38.901 Table 7.2-1: 35 m UMa, 10 m UMi)")
    traffic: Literal["full_buffer", "cbr"] = Field("full_buffer", description="traffic model")
    cbr_mbps: float = Field(1.0, gt=0, le=10_000, description="constant bit rate demand [Mbit/s]")
    trace: TraceMobility | None = Field(None, description="trace selection (mobility = 'trace')")

    @model_validator(mode="after")
    def _check(self):
        if self.mobility == "trace" and self.trace is None:
            raise ValueError("mobility = 'trace' needs a [ue_groups.trace] table")
        if self.mobility in ("random_waypoint", "vehicle") and self.speed_mps <= 0:
            raise ValueError(f"mobility = {self.mobility!r} needs speed_mps > 0")
        if self.route is not None and len(self.route) < 2:
            raise ValueError("route needs at least 2 points")
        if self.route is not None and len(set(self.route)) < 2:
            raise ValueError("route has zero length (all its points are the same)")
        if self.route is not None and any(abs(c) > 1e7 for p in self.route for c in p):
            raise ValueError(_at("route", "route coordinates must be within ±1e7 m"))
        return self


class EventConfig(_Model):
    """A scripted action at a given time, applied through the control surface."""

    at_s: float = Field(ge=0, description="simulated time of the action [s]")
    action: Literal["set_slice_quota", "set_cell_power", "cell_off", "cell_on", "cell_sleep",
                    "set_intent"] = Field(description="control-surface action")
    cell: int | None = Field(None, ge=0, description="cell index; None = every cell")
    slice: str | None = Field(None, description="slice name (slice actions)")
    value: float | None = Field(None, description="quota [%], power [dBm] or intent [Mbit/s]")
    tolerance: float | None = Field(None, ge=0, description="intent tolerance [Mbit/s]")


#: the backend specs an agent may name (the forms of ``agents.llm.factory.make_backend``)
BACKEND_NAMES = ("auto", "embedded", "scripted")
BACKEND_PREFIXES = ("ollama", "openai", "replay")
BACKEND_EXAMPLES = {"ollama": "ollama:llama3.2:3b", "openai": "openai:gpt-4o-mini",
                    "replay": "replay:runs/a/results.h5"}
BACKEND_FORMS = "auto | embedded | ollama:<model> | openai:<model> | scripted | replay:<path>"


def _is_whole_us(ms: float) -> bool:
    """True when ``ms`` milliseconds is a whole number of microseconds (to 1e-6 µs)."""
    us = ms * 1000.0
    return abs(us - round(us)) <= 1e-6 * max(1.0, abs(us))


class AgentConfig(_Model):
    """An agent attached to the network at its own time scale (design §3)."""

    model_config = ConfigDict(extra="forbid", protected_namespaces=(), strict=True,
                              allow_inf_nan=False)

    name: str = Field(min_length=1, description="agent name (unique)")
    kind: str = Field(min_length=1, description="registered agent type (entry point group "
                      "`simran.agents`)")
    loop: Literal["rt", "near_rt", "non_rt"] = Field("near_rt", description="O-RAN loop class")
    budget_ms: float | None = Field(None, gt=0, description="decision budget [ms]; default by "
                                    "loop: rt 10, near_rt 1000, non_rt 60000")
    period_ms: float = Field(1000.0, gt=0, description="how often the agent observes [ms]")
    latency: str = Field("measured", description="measured | measured*<f> | fixed:<ms> | "
                         "profile:<model> | tokens:<hardware>")
    late: Literal["drop", "apply"] = Field("drop", description="what happens to a late decision")
    backend: str = Field("scripted", description="auto | embedded | ollama:<model> | "
                         "openai:<model> | scripted | replay:<results file>")
    params: dict[str, Any] = Field(default_factory=dict, description="agent-specific parameters")

    @field_validator("backend")
    @classmethod
    def _backend_form(cls, v: str) -> str:
        # the forms of agents.llm.factory.make_backend (simran does not import agents/)
        head, sep, arg = v.partition(":")
        if (not sep and v in BACKEND_NAMES) or (sep and head in BACKEND_PREFIXES and arg.strip()):
            return v
        if sep and head in BACKEND_PREFIXES:
            raise ValueError(f"{v!r} names no {'path' if head == 'replay' else 'model'} after "
                             f"'{head}:' (e.g. {BACKEND_EXAMPLES[head]!r})")
        raise ValueError(f"unknown backend {v!r}; expected {BACKEND_FORMS}")

    @field_validator("period_ms", "budget_ms")
    @classmethod
    def _whole_us(cls, v: float | None) -> float | None:
        if v is not None and not _is_whole_us(v):
            raise ValueError(f"{v!r} ms is not a whole number of microseconds (the clock counts "
                             "µs; e.g. 0.001 ms = 1 µs is the smallest period)")
        return v


class OutputConfig(_Model):
    """What is recorded."""

    kpi_period_ms: float = Field(100.0, gt=0, description="KPI averaging / recording period [ms]")
    ue_kpis: bool = Field(True, description="record UE-level KPIs")
    ue_kpi_period_ms: float | None = Field(None, gt=0, description="UE KPI period [ms] (default: "
                                           "kpi_period_ms); larger = decimated")
    plots: bool = Field(False, description="write PNG plots next to the results (needs "
                        "matplotlib: the `plot` extra)")


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


def _at(path: str, reason: str) -> str:
    """Message of a cross-field check, tagged with the field path it is about."""
    return f"@{path}@{reason}"


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


# --------------------------------------------------------------------------------------------
# loading and overrides


def read_toml(path: str | Path) -> dict:
    """Read a TOML file; errors name the file (and line for syntax errors)."""
    path = Path(path)
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise ScenarioError(str(path), [("", "file not found")]) from None
    except (PermissionError, IsADirectoryError) as exc:
        raise ScenarioError(str(path), [("", f"cannot read file: {exc.strerror}")]) from None
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(str(path), [("", f"TOML syntax error: {exc}")]) from None
    except UnicodeDecodeError:
        raise ScenarioError(str(path), [("", "not a UTF-8 text file")]) from None
    except OSError as exc:
        raise ScenarioError(str(path), [("", f"cannot read file: {exc.strerror or exc}")]
                            ) from None
    except RecursionError:
        raise ScenarioError(str(path), [("", "TOML nesting too deep")]) from None


def parse_override(text: str) -> tuple[str, Any]:
    """Parse ``path.to.field=value``; the value is read as a TOML value, else as a string."""
    if "=" not in text:
        raise ScenarioError("--set", [(text, "expected path.to.field=value")])
    path, raw = text.split("=", 1)
    path = path.strip()
    try:
        value = tomllib.loads(f"v = {raw.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw.strip()
    return path, value


def apply_overrides(data: dict, overrides: dict[str, Any] | list[str] | tuple = (),
                    source: str = "--set") -> dict:
    """Return a deep copy of ``data`` with dotted-path overrides applied.

    Paths use field names and list indices, e.g. ``slices.0.quota_pct``. A missing intermediate
    table is created; a list index past the end is an error naming the path. Whether the leaf
    field exists is checked by validation (``extra="forbid"``).
    """
    if isinstance(overrides, (list, tuple)):
        overrides = dict(parse_override(o) for o in overrides)
    out = copy.deepcopy(data)
    for path, value in overrides.items():
        keys = path.split(".")
        node: Any = out
        for i, key in enumerate(keys):
            last = i == len(keys) - 1
            where = ".".join(keys[: i + 1])
            if isinstance(node, list):
                if not key.isdigit() or int(key) >= len(node):
                    raise ScenarioError(source, [(path, f"{where}: no list element {key!r} "
                                                  f"(list has {len(node)})")])
                key = int(key)
                if last:
                    node[key] = value
                else:
                    node = node[key]
            elif isinstance(node, dict):
                if last:
                    node[key] = value
                else:
                    node = node.setdefault(key, {})
            else:
                raise ScenarioError(source, [(path, f"{'.'.join(keys[:i])} is a value, not a "
                                              "table")])
    return out


# --------------------------------------------------------------------------------------------
# inheritance: ``base = "other.toml"``

#: deepest ``base =`` chain followed before giving up (a cycle is reported separately).
MAX_BASE_DEPTH = 16


def merge_scenario_data(base: dict, child: dict) -> dict:
    """Merge a child scenario's data over its base (the ``base =`` rules).

    Rules, applied recursively:

    * **tables** merge key by key; a child's value replaces the base's (a sub-table merges);
    * **lists of named tables** (every item has a ``name``: ``[[slices]]``, ``[[ue_groups]]``,
      ``[[agents]]``, ``[[events]]`` with names …) merge by ``name``: an item whose name is
      in the base merges into that item in place (order kept), a new name is appended; an item
      with ``remove = true`` deletes the base item of that name;
    * **any other list** (and any value) is replaced as a whole by the child's.

    Parameters
    ----------
    base, child : dict
        Parsed TOML data; neither is modified.

    Returns
    -------
    dict
        A new merged dict.
    """
    out = copy.deepcopy(base)
    for key, value in child.items():
        old = out.get(key)
        if isinstance(old, dict) and isinstance(value, dict):
            out[key] = merge_scenario_data(old, value)
        elif _named_list(old) and _named_list(value):
            out[key] = _merge_named(old, value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _named_list(v: Any) -> bool:
    return (isinstance(v, list) and bool(v)
            and all(isinstance(i, dict) and isinstance(i.get("name"), str) for i in v))


def _merge_named(base: list, child: list) -> list:
    out = [copy.deepcopy(i) for i in base]
    index = {item["name"]: i for i, item in enumerate(out)}
    for item in child:
        name = item["name"]
        if item.get("remove") is True:
            out = [i for i in out if i["name"] != name]
            index = {it["name"]: i for i, it in enumerate(out)}
        elif name in index:
            out[index[name]] = merge_scenario_data(out[index[name]], item)
        else:
            index[name] = len(out)
            out.append(copy.deepcopy(item))
    return out


def read_scenario_data(path: str | Path, _chain: tuple[Path, ...] = ()) -> dict:
    """Read a scenario file and resolve its ``base =`` chain into one dict.

    ``base`` is a path relative to the file that names it; the base may itself have a base.
    Relative paths *inside* the scenarios (trace files, agent files) resolve against the folder
    of the file that is loaded, as for any scenario. See :func:`merge_scenario_data` for the
    merge rules.

    Raises
    ------
    ScenarioError
        Naming the file and ``base`` for a missing base, a cycle or a non-string value.
    """
    path = Path(path)
    data = read_toml(path)
    if "base" not in data:
        return data
    base = data.pop("base")
    if not isinstance(base, str) or not base.strip():
        raise ScenarioError(str(path), [("base", "expected a file name (a string), got "
                                         f"{base!r}")])
    base_path = (path.parent / base).resolve()
    chain = (*_chain, path.resolve())
    if base_path in chain:
        loop = " -> ".join(str(p.name) for p in (*chain, base_path))
        raise ScenarioError(str(path), [("base", f"inheritance cycle: {loop}")])
    if len(chain) >= MAX_BASE_DEPTH:
        raise ScenarioError(str(path), [("base", f"more than {MAX_BASE_DEPTH} levels of base")])
    if not base_path.is_file():
        raise ScenarioError(str(path), [("base", f"base scenario {base!r} not found "
                                         f"(looked for {base_path})")])
    return merge_scenario_data(read_scenario_data(base_path, chain), data)


def scenario_origins(path: str | Path, overrides: dict[str, Any] | list[str] | tuple = ()
                     ) -> dict[str, str]:
    """Where each value given in a scenario's files comes from.

    Returns
    -------
    dict
        Dotted path (``slices.0.quota_pct``, as in ``--set``) → the file that set it last, or
        ``"--set"``. Values not listed are schema defaults.
    """
    path = Path(path)
    chain = [path]
    while "base" in (raw := read_toml(chain[-1])) and isinstance(raw["base"], str):
        if len(chain) > MAX_BASE_DEPTH:
            break
        chain.append((chain[-1].parent / raw["base"]).resolve())
    final = read_scenario_data(path)
    origins: dict[str, str] = {}
    for f in reversed(chain):
        layer = read_toml(f)
        layer.pop("base", None)
        _flatten(layer, final, "", origins, str(f))
    if isinstance(overrides, (list, tuple)):
        overrides = dict(parse_override(o) for o in overrides)
    for k in overrides:
        origins[k] = "--set"
    return origins


def _flatten(layer: Any, final: Any, prefix: str, origins: dict, f: str) -> None:
    """Record ``f`` for every leaf of ``layer``; named items are indexed as in ``final``."""
    if isinstance(layer, dict):
        for k, v in layer.items():
            sub = final.get(k) if isinstance(final, dict) else None
            _flatten(v, sub, f"{prefix}.{k}" if prefix else k, origins, f)
    elif _named_list(layer) and isinstance(final, list):
        names = [i.get("name") if isinstance(i, dict) else None for i in final]
        for item in layer:
            if item["name"] in names:
                i = names.index(item["name"])
                _flatten(item, final[i], f"{prefix}.{i}", origins, f)
    else:
        origins[prefix] = f


def load_scenario(path: str | Path, overrides: dict[str, Any] | list[str] | tuple = ()
                  ) -> Scenario:
    """Load, override and validate a scenario file.

    Parameters
    ----------
    path : str or Path
        TOML scenario file.
    overrides : dict or list of "path=value"
        ``--set`` overrides, applied before validation.

    Raises
    ------
    ScenarioError
        Naming the file, every bad field path and the reason.
    """
    path = Path(path)
    data = read_scenario_data(path)
    if not data:
        raise ScenarioError(str(path), [("", "empty scenario file (no tables or fields); a "
                                         "scenario needs at least a [simulation] or "
                                         "[[ue_groups]] table — see scenarios/quickstart.toml")])
    data = apply_overrides(data, overrides, source=f"{path} (--set)")
    return Scenario.from_dict(data, source=str(path), base_dir=path.resolve().parent)
