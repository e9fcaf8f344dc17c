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

from simran.scenario.files import (
    apply_overrides,
    load_scenario,
    merge_scenario_data,
    parse_override,
    read_scenario_data,
    read_toml,
    scenario_origins,
)
from simran.scenario.model import Scenario, memory_limit_bytes
from simran.scenario.sections import (
    BACKEND_FORMS,
    AgentConfig,
    AntennaConfig,
    EventConfig,
    HandoverConfig,
    NetworkConfig,
    OutputConfig,
    SimulationConfig,
    SiteConfig,
    SliceConfig,
    SlicingConfig,
    TraceMobility,
    UEGroupConfig,
)

__all__ = [
    "Scenario", "load_scenario", "apply_overrides", "parse_override", "read_toml",
    "read_scenario_data", "merge_scenario_data", "scenario_origins", "memory_limit_bytes",
    "BACKEND_FORMS", "AgentConfig", "AntennaConfig", "EventConfig", "HandoverConfig",
    "NetworkConfig", "OutputConfig", "SimulationConfig", "SiteConfig", "SliceConfig",
    "SlicingConfig", "TraceMobility", "UEGroupConfig",
]
