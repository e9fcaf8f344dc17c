"""The sections of a scenario file (``[simulation]``, ``[network]``, ``[[slices]]``, …): one
pydantic model each, every field with type, unit, default, range and description (design §6)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_serializer,
    model_validator,
)

from simran.mac.policies import available_policies, policy_class


def _at(path: str, reason: str) -> str:
    """Message of a cross-field check, tagged with the field path it is about."""
    return f"@{path}@{reason}"


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


class LinkConfig(_Model):
    """Block errors, HARQ and outer-loop link adaptation (``[network.link]``,
    :mod:`simran.radio.harq`). Off by default: with ``bler = false`` the kernel is unchanged."""

    bler: bool = Field(False, description="draw a block error for every transport block from "
                       "its effective SINR and MCS (logistic BLER in dB, 10 % at the MCS's CQI "
                       "threshold; a documented approximation, simran.radio.harq)")
    harq_max_tx: int = Field(4, ge=1, le=8, description="HARQ transmissions per block incl. the "
                             "first (1 = no HARQ); chase combining")
    harq_rtt_ticks: int = Field(1, ge=1, le=64, description="HARQ round-trip time [ticks] from "
                                "a transmission to its retransmission (1 = the next tick)")
    olla: bool = Field(True, description="outer-loop link adaptation: a per-UE SINR offset "
                       "steered by ACK/NACK of first transmissions to bler_target")
    bler_target: float = Field(0.1, gt=0, lt=0.5, description="first-transmission BLER target "
                               "of OLLA [fraction]")
    olla_step_up_db: float = Field(0.5, gt=0, le=5, description="OLLA offset step on a NACK "
                                   "[dB]; the ACK step is step_up·target/(1−target)")
    bler_slope_per_db: float = Field(2.0, gt=0, le=20, description="slope a of the BLER "
                                     "logistic 1/(1 + 9·exp(a·(SINR − θ))) [1/dB]")


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
    los_soft: bool = Field(
        False, description="soft LOS/NLOS transitions (TR 38.901 §7.6.3.3 soft LOS state): LOS "
        "and NLOS gains blended by the soft state instead of a ~20 dB step at each flip (only "
        "with los_model = 'probabilistic')")
    antenna: AntennaConfig = Field(default_factory=AntennaConfig)
    link: LinkConfig = Field(default_factory=LinkConfig, description="block errors, HARQ, "
                             "OLLA ([network.link])")
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

    @model_serializer(mode="wrap")
    def _omit_defaults(self, handler):
        # options added after 0.2 are left out of the resolved scenario while at their
        # defaults, so results files of scenarios that do not use them stay identical
        d = handler(self)
        if self.link == LinkConfig():
            d.pop("link", None)
        if not self.los_soft:
            d.pop("los_soft", None)
        return d

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


