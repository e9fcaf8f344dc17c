"""simran — a discrete-event simulator of multi-cell, multi-tenant RANs with time-scaled agents.

Quick use::

    import simran
    scen = simran.load_scenario("scenarios/quickstart.toml", ["simulation.duration_s=2"])
    res = simran.run_scenario(scen, "runs/qs/results.h5")
    r = simran.load_results("runs/qs/results.h5")
    r.cell.head()

``import simran`` imports numpy, pandas, h5py, simpy, scipy, networkx and pydantic only — never
``agents``, an LLM client, matplotlib or dask (those load on demand).
"""

from __future__ import annotations

from simran._version import __version__  # noqa: E402
from simran.campaigns.analysis import load_campaign, load_runs  # noqa: E402
from simran.errors import ScenarioError, SimranError, TraceError  # noqa: E402
from simran.output.results import Results, load_results  # noqa: E402
from simran.scenario import Scenario, apply_overrides, load_scenario  # noqa: E402
from simran.simulation import RunResult, Simulation, run_scenario  # noqa: E402

__all__ = [
    "__version__", "Scenario", "ScenarioError", "SimranError", "TraceError", "Results",
    "RunResult", "Simulation", "load_scenario", "apply_overrides", "run_scenario",
    "load_results", "load_campaign", "load_runs",
]
