"""Replay: vehicles follow drive traces through a cell; results as any run.

:func:`replay_scenario` makes the scenario of one replay run. The base scenario (default
``scenarios/vehicle_replay.toml``: one cell, 40 MHz at 30 kHz, one slice) must have exactly one
``mobility = "trace"`` UE group; its trace file and selection are replaced by the given ones.
Unless a duration or ``simulation.duration_s=…`` override is given, a run lasts as long as its
(longest) trace. The command is ``simran replay`` (:mod:`simran.cli.replay`).
"""

from __future__ import annotations

from pathlib import Path

from simran.errors import ScenarioError

DEFAULT_BASE = Path(__file__).resolve().parents[2] / "scenarios" / "vehicle_replay.toml"


def replay_scenario(base, trace_file, ids, duration_s=None, overrides=()):
    """The base scenario with its trace group pointed at ``trace_file`` / ``ids``."""
    from simran.scenario import Scenario, apply_overrides, read_scenario_data
    from simran.traces.trace_set import load_trace_set

    base = Path(base)
    data = read_scenario_data(base)      # follows a base = chain
    groups = [i for i, g in enumerate(data.get("ue_groups", [])) if g.get("mobility") == "trace"]
    if len(groups) != 1:
        raise ScenarioError(str(base), [("ue_groups", f"a replay base needs exactly one "
                                         f"mobility='trace' group, found {len(groups)}")])
    gi = groups[0]
    ts = load_trace_set(trace_file)
    traces = ts.select(ids=list(ids))
    trace_cfg = dict(data["ue_groups"][gi].get("trace", {}))
    trace_cfg.update({"file": str(Path(trace_file).resolve()), "ids": list(ids)})
    trace_cfg.pop("first", None)
    data = apply_overrides(data, {f"ue_groups.{gi}.trace": trace_cfg})
    if duration_s is None and not any(o.startswith("simulation.duration_s=") for o in overrides):
        duration_s = max(t.duration_s for t in traces)
    if duration_s is not None:
        data = apply_overrides(data, {"simulation.duration_s": float(duration_s)})
    data = apply_overrides(data, list(overrides), source=f"{base} (--set)")
    return Scenario.from_dict(data, source=str(base), base_dir=base.resolve().parent)
