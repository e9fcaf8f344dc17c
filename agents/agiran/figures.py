"""Fig. 16 a–d and Table 3's message trace, from the results of a demo run and its twin.

    python -m agents.agiran.figures runs/agiran_cmp [--png fig16.png]

``runs/agiran_cmp`` is the ``--out`` folder of :mod:`agents.agiran.compare` (``agentic/`` and
``static/`` results). The figure has four panels over time, like papers/004 Fig. 16: (a) the
vehicle's MCS (its trace CQI through the scenario's CQI → MCS tables), (b) the negotiated SLA
(with every bid of every game) and the static SLA, (c) the slice throughput of both runs against
their SLAs, (d) the slice's PRB share of both runs. The message trace
(:func:`message_trace`) lists, in time order, what the agents said and did — bids, proposals,
consensus, violations, votes, probes — and the slice's KPIs a few seconds after each new SLA
(papers/004 Table 3: intents → bids → consensus → system KPIs → new slice policy).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from agents.agiran.metrics import series_from_results

DEMO_KINDS = ("mediator", "tenant", "agiran_smo")


def _slice_name(res) -> str:
    for a in res.scenario["agents"]:
        if a["kind"] == "mediator":
            return a["params"].get("slice") or res.scenario["slices"][0]["name"]
    return res.scenario["slices"][0]["name"]


def vehicle_mcs(res, scenario_dir=None) -> tuple[np.ndarray, np.ndarray]:
    """(t_s, MCS) of the first trace UE over the run, from its trace file (a relative path is
    resolved against ``scenario_dir``, default the repository's ``scenarios/``)."""
    from simran.radio.link import cqi_to_mcs
    from simran.traces.trace_set import load_trace_set

    sc, g = res.scenario, res.scenario["ue_groups"][0]
    tr = g["trace"]
    path = Path(tr["file"])
    if not path.is_absolute():
        path = Path(scenario_dir or Path(__file__).resolve().parents[2] / "scenarios") / path
    ts = load_trace_set(path)
    trace = ts.select(ids=tr.get("ids"), first=tr.get("first"))[0]
    t = np.arange(0.0, float(sc["simulation"]["duration_s"]), 1.0)
    cqi = trace.cqi_at(np.rint(t * 1e6).astype(np.int64), mode=tr.get("sampling", "hold"),
                       end=tr.get("end", "loop"), offset_s=float(tr.get("offset_s", 0.0)))
    net = sc["network"]
    return t, cqi_to_mcs(np.maximum(cqi, 0), net.get("cqi_table", "table1"),
                         net.get("mcs_table", "qam64"))


def message_trace(res, kpi_delay_s: float = 5.0) -> list[str]:
    """Table 3's message trace: the demo agents' decisions and the slice KPIs after each SLA."""
    kinds = {a["name"]: a["kind"] for a in res.scenario["agents"]}
    d = res.decisions
    d = d[d.agent.map(lambda a: kinds.get(a) in DEMO_KINDS) & (d.status != "no_action")]
    series = series_from_results(res, _slice_name(res))
    rows = [(0.0, f"Human {a['name']}", f"intent {a['params'].get('intent_mbps', 50):g} Mbit/s "
                                        f"({a['params'].get('personality', 'normal')})")
            for a in res.scenario["agents"] if a["kind"] == "tenant"]
    for r in d.itertuples():
        actor = {"mediator": "Agent II SMO", "tenant": f"Agent II {r.agent}",
                 "agiran_smo": "SMO observability"}[kinds[r.agent]]
        t = r.t_apply_s if r.t_apply_s == r.t_apply_s else r.t_ready_s
        rows.append((float(t), actor, r.note))
        if "SetIntent(" in r.note and r.status == "applied":
            tk = float(r.t_apply_s) + kpi_delay_s
            i = int(np.searchsorted(series.t_s, tk))
            if i < series.t_s.size:
                rows.append((tk, "System", f"slice KPIs: throughput {series.mbps[i]:.1f} Mbit/s"
                                           f", PRB {series.prb[i] / series.n_prb * 100:.0f} %"))
                rows.append((tk, "Agent I", f"slice policy: quota {series.quota_pct[i]:.0f} % "
                                            "(P-control)"))
    rows.sort(key=lambda x: x[0])
    return [f"{i + 1:3d}  {t:7.1f} s  {who:18s} {what}" for i, (t, who, what) in enumerate(rows)]


def plot(agentic, static, path=None):
    """Fig. 16 a–d (matplotlib figure; saved to ``path`` when given)."""
    import matplotlib
    if path is not None:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    name = _slice_name(agentic)
    a, s = series_from_results(agentic, name), series_from_results(static, name)
    fig, ax = plt.subplots(4, 1, figsize=(8, 9), sharex=True)
    try:
        t, mcs = vehicle_mcs(agentic)
        ax[0].step(t, mcs, where="post", color="k")
    except Exception as exc:  # noqa: BLE001 - the panel says why
        ax[0].text(0.5, 0.5, f"no trace: {exc}", transform=ax[0].transAxes, ha="center")
    ax[0].set_ylabel("MCS")
    ax[1].step(a.t_s, a.sla_mbps, where="post", label="consensus SLA")
    ax[1].step(s.t_s, s.sla_mbps, where="post", ls="--", label="static SLA")
    ax[1].set_ylabel("SLA [Mbit/s]")
    ax[2].plot(a.t_s, a.mbps, lw=0.6, label="agentic")
    ax[2].plot(s.t_s, s.mbps, lw=0.6, alpha=0.7, label="static")
    ax[2].step(a.t_s, a.sla_mbps, where="post", color="k", lw=0.8, label="SLA (agentic)")
    ax[2].set_ylabel("throughput [Mbit/s]")
    ax[3].plot(a.t_s, a.prb / a.n_prb * 100, lw=0.6, label="agentic")
    ax[3].plot(s.t_s, s.prb / s.n_prb * 100, lw=0.6, alpha=0.7, label="static")
    ax[3].set_ylabel("PRB [%]")
    ax[3].set_xlabel("time [s]")
    for x, lab in zip(ax, "abcd"):
        x.legend(loc="upper right", fontsize=7) if lab != "a" else None
        x.set_title(f"({lab})", loc="left", fontsize=9)
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=120)
    return fig


def main(argv=None) -> int:
    from simran.output.results import load_results

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("folder", help="the --out folder of agents.agiran.compare")
    ap.add_argument("--png", default=None, help="write Fig. 16 a-d here")
    a = ap.parse_args(argv)
    folder = Path(a.folder)
    ag = load_results(folder / "agentic" / "results.h5")
    print("\n".join(message_trace(ag)))
    if a.png:
        plot(ag, load_results(folder / "static" / "results.h5"), a.png)
        print(f"wrote {a.png}")
    cmp = folder / "comparison.json"
    if cmp.exists():
        sv = json.loads(cmp.read_text())["saving"]
        print(f"PRB saved {sv['agiran.prb_saved_pct']:.2f} % (papers/004: 44.43 %)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
