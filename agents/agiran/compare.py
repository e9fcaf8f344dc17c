"""Run an AGI-RAN demo scenario and its static-SLA twin; print the PRB and energy saving.

    python -m agents.agiran.compare scenarios/agi_ran_vehicle.toml --out runs/agiran_cmp
    python -m agents.agiran.compare scenarios/agi_ran_ucc5g.toml --out runs/agiran_ucc5g

The **static twin** (:func:`static_twin`) is the same scenario (network, trace, seed, output, the
P-controller and its meta-tuner) without the mediator, the tenants and the SMO agent, and with
one scripted ``set_intent`` event at t = 0: the static SLA (default: the mean of the tenants'
intents, papers/004 §6: "a static SLA enforcement of 55 Mbps (intent average)"; ours is 53.3 for
100 / 50 / 10) with the mediator's tolerance. Both runs write ``results.h5`` under ``--out``
(``agentic/``, ``static/``); ``comparison.json`` holds both metric sets and the savings.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
from pathlib import Path

from agents.agiran.metrics import compare_metrics, metrics, series_from_results

DEMO_KINDS = ("mediator", "tenant", "agiran_smo")


def static_twin(data: dict, sla_mbps: float | None = None) -> tuple[dict, float, str]:
    """(twin scenario data, static SLA [Mbit/s], slice) of a demo scenario's data (a dict)."""
    out = copy.deepcopy(data)
    agents = out.get("agents", [])
    med = next((a for a in agents if a.get("kind") == "mediator"), None)
    if med is None:
        raise ValueError("the scenario has no mediator agent: not an AGI-RAN demo")
    intents = [float(a.get("params", {}).get("intent_mbps", 50.0)) for a in agents
               if a.get("kind") == "tenant"]
    sla = float(sla_mbps) if sla_mbps is not None else sum(intents) / max(len(intents), 1)
    mp = med.get("params", {})
    slice_name = mp.get("slice") or out["slices"][0]["name"]
    out["agents"] = [a for a in agents if a.get("kind") not in DEMO_KINDS]
    out["events"] = [{"at_s": 0.0, "action": "set_intent", "slice": slice_name, "value": sla,
                      "tolerance": float(mp.get("tolerance_mbps", 5.0))}] + out.get("events", [])
    out["name"] = f"{data.get('name', 'scenario')}_static"
    out["description"] = f"static-SLA twin of {data.get('name')}: {sla:g} Mbit/s all along"
    return out, sla, slice_name


def _run(data: dict, base_dir: Path, source: str, out: Path, overrides=()):
    from simran.output.results import load_results
    from simran.scenario import Scenario, apply_overrides
    from simran.simulation import run_scenario

    data = apply_overrides(data, list(overrides))
    sc = Scenario.from_dict(data, source=source, base_dir=base_dir)
    out.mkdir(parents=True, exist_ok=True)
    res = run_scenario(sc, out / "results.h5")
    return load_results(res.results_path)


def compare(path, out, overrides=(), sla_mbps=None) -> dict:
    """Run both; return ``{"agentic": {...}, "static": {...}, "saving": {...}}``."""
    from simran.scenario import read_toml

    path, out = Path(path), Path(out)
    data = read_toml(path)
    twin, sla, slice_name = static_twin(data, sla_mbps)
    ra = _run(data, path.parent, str(path), out / "agentic", overrides)
    rs = _run(twin, path.parent, str(path), out / "static", overrides)
    ma = metrics(series_from_results(ra, slice_name))
    ma.update({k: v for k, v in ra.summary.items() if k.startswith("agiran.")
               and k not in ma})
    ms = metrics(series_from_results(rs, slice_name))
    result = {"scenario": str(path), "static_sla_mbps": sla, "agentic": ma, "static": ms,
              "saving": compare_metrics(ma, ms)}
    (out / "comparison.json").write_text(json.dumps(result, indent=1))
    return result


def report(result: dict) -> list[str]:
    """The comparison as lines of text."""
    a, s, sv = result["agentic"], result["static"], result["saving"]
    lines = [f"{result['scenario']}: agentic vs static SLA {result['static_sla_mbps']:.1f} Mbit/s",
             f"  {'metric':28s} {'agentic':>10s} {'static':>10s}"]
    for k in ("prb_s", "prb_pct_mean", "mbit", "prb_s_per_mbit", "sla_satisfied_pct",
              "off_time_s", "energy_kwh"):
        lines.append(f"  {k:28s} {a['agiran.' + k]:10.4g} {s['agiran.' + k]:10.4g}")
    for k in ("negotiations", "negotiation_s_mean", "votes", "votes_passed", "violations",
              "probes"):
        if "agiran." + k in a:
            lines.append(f"  {k:28s} {a['agiran.' + k]:10.4g}")
    lines.append(f"  PRB saved: {sv['agiran.prb_saved_pct']:.2f} % (papers/004: 44.43 %); "
                 f"energy saved: {sv['agiran.energy_saved_pct']:.2f} %")
    return lines


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("scenario")
    ap.add_argument("--out", required=True)
    ap.add_argument("--set", action="append", default=[], dest="overrides",
                    help="override for both runs, e.g. simulation.duration_s=60")
    ap.add_argument("--static-sla", type=float, default=None)
    a = ap.parse_args(argv)
    try:
        result = compare(a.scenario, a.out, a.overrides, a.static_sla)
    except Exception as exc:  # noqa: BLE001 - one line for the command line
        print(f"agiran.compare: error: {exc}", file=sys.stderr)
        return 2
    print("\n".join(report(result)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
