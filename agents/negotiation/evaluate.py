"""Evaluate the Type II negotiation: papers/004 Table 7 and Fig. 15, papers/003 Fig. 3a and 3b.

One command::

    python -m agents.negotiation.evaluate --out results/type2 [--parts all] [--games 50]
        [--workers 2] [--tiny]

Every game is a real simran run: a one-cell network that keeps ticking (1 s ticks), a
``mediator`` agent and n ``tenant`` agents in the ``non_rt`` loop, the rounds on simran's round
primitive, thinking time charged in simulated time from papers/004 Table 7's profile
(``profile:llama3.3:70b``, 11.7 s per reply; ``--latency`` changes it), the consensus applied as a
``SetIntent``. Intents are drawn uniformly in [0, 100] Mbit/s from the game's seed; the tenants'
personalities from normal / agreeable / disagreeable (except in Fig. 3a, where the pair is the
point). The error of a game is |final − optimum|: ``final`` is the consensus, or, for a game
declared failed, the weighted mean of the last valid bids ("the throughput decision … regardless
of reaching consensus", papers/003 §IV-A); ``optimum`` is the closed form of
:func:`agents.negotiation.optimizer.optimum` on the tenants' intents.

Parts (``--parts``, comma-separated, or ``all``)

``grid``
    n ∈ {2, 5, 10, 20} × pressure none / soft / hard × ``--games`` games, scripted rules → Table 7's
    scripted rows (all sizes pooled) and Fig. 15 (error distributions per n, with / without the
    interval);
``fig3a``
    the 5 × 5 personality pairs (cost agent with intent in [0, 20], QoS agent in [80, 100]),
    pressure none and no arbitral weights (MAESTRO's standalone agents), 50 games each, ≤ 5 rounds;
``fig3b``
    n ∈ {2, 5, 10} × none / soft / hard × 100 games, ≤ 4 rounds (MAESTRO's cap);
``embedded``
    the SmolLM2-135M model as the tenants (2 per game, scripted mediator), pressure none, soft,
    and soft with the interval as a grammar bound (``grammar_interval``), ``--embedded-games``
    games each (default 30). Slow: about a minute per game on 2 cores.

Resumable: each finished game is one JSON line in ``<out>/games_<part>.jsonl`` keyed by the hash
of its specification (parts, sizes, seeds, backend, latency, code-independent); re-running the
same command skips games already there, so an interrupted run continues where it stopped and
parts can run in separate processes. Outputs (from whatever games are there): ``table7.csv`` /
``table7.md`` (beside the paper's rows from ``datasets/llm_latency_profiles.csv``), ``fig15.png``,
``fig3a.csv`` / ``fig3a.png``, ``fig3b.csv`` / ``fig3b.png``, ``embedded.csv``.

On the sweep machinery: ``scenarios/sweeps/type2_pressure.toml`` runs the same kind of game
(3 tenants with random intents) as a ``simran sweep`` campaign over seeds × pressure; the
mediator's ``negotiation.*`` summary metrics land in the campaign table
(``--campaign <dir>`` prints the MAE per pressure from it).

``SIMRAN_CI_TINY=1`` (or ``--tiny``) shrinks everything to a few games (seconds).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import numpy as np

from agents.negotiation.tables import report

REPO = Path(__file__).resolve().parent.parent.parent
BASE_PERSONALITIES = ("normal", "agreeable", "disagreeable")
PAIR_PERSONALITIES = ("normal", "agreeable", "disagreeable", "vulnerable", "toxic")
DEFAULT_LATENCY = "profile:llama3.3:70b"
PARTS = ("grid", "fig3a", "fig3b", "embedded")


def tiny() -> bool:
    return os.environ.get("SIMRAN_CI_TINY", "") not in ("", "0")


# ------------------------------------------------------------------------------ game specs -----
def game_seed(*parts) -> int:
    """A seed from the game's coordinates (stable across runs and machines)."""
    h = hashlib.sha256(json.dumps(parts, sort_keys=True).encode()).hexdigest()
    return int(h[:8], 16)


def spec_key(spec: dict) -> str:
    return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:16]


def make_spec(part: str, n: int, pressure: str, game: int, *, personalities=None, intents=None,
              backend: str = "scripted", grammar: bool = False, k_max: int = 5,
              latency: str = DEFAULT_LATENCY, arbitral: bool = True,
              mediator_latency: str | None = None) -> dict:
    """One game: who bids what, under which pressure, with which backend and latency."""
    seed = game_seed(part, n, game)           # the same intents for every pressure of a cell
    rng = np.random.default_rng(seed)
    if intents is None:
        intents = np.round(rng.uniform(0.0, 100.0, n), 2).tolist()
    if personalities is None:
        personalities = [BASE_PERSONALITIES[i] for i in rng.integers(0, 3, n)]
    return {"part": part, "n": n, "pressure": pressure, "game": game, "seed": seed,
            "intents": [float(x) for x in intents], "personalities": list(personalities),
            "backend": backend, "grammar": bool(grammar), "k_max": int(k_max),
            "latency": latency, "mediator_latency": mediator_latency or latency,
            "arbitral": bool(arbitral)}


def scenario_dict(spec: dict) -> dict:
    """The scenario of one game: a one-cell network, a mediator and the tenants."""
    n, k_max = spec["n"], spec["k_max"]
    names = [f"t{i + 1}" for i in range(n)]
    med_budget_s = 60.0
    # long enough for k_max rounds of the slowest profile draws (σ_ln = 0.1 → +40 % at 3.4 σ)
    per_round = 2 * 1.5 * _latency_s(spec["latency"]) + 2.0
    if spec["backend"] != "scripted":
        per_round = 2 * med_budget_s                     # measured / token latencies: generous
    duration = 1.0 + k_max * per_round + 5.0
    agents = [{"name": "mno", "kind": "mediator", "loop": "non_rt",
               "latency": spec["mediator_latency"], "backend": "scripted",
               "params": {"tenants": names, "pressure": spec["pressure"],
                          "k_max": k_max, "start_s": 1.0, "arbitral": spec["arbitral"],
                          "capacity": "none", "deadline_s": med_budget_s}}]
    for name, d, pers in zip(names, spec["intents"], spec["personalities"]):
        agents.append({"name": name, "kind": "tenant", "loop": "non_rt",
                       "latency": spec["latency"], "backend": spec["backend"],
                       "params": {"intent_mbps": d, "personality": pers, "slice": "shared",
                                  "grammar_interval": spec["grammar"]}})
    return {"name": f"type2_{spec['part']}", "simulation": {"duration_s": math.ceil(duration),
                                                            "tick_ms": 1000.0,
                                                            "mobility_period_ms": 1000.0,
                                                            "measurement_period_ms": 1000.0,
                                                            "seed": spec["seed"] % 2**31},
            "network": {"layout": "hex", "rings": 0, "sectors": 1,
                        "handover": {"enabled": False}},
            "slices": [{"name": "shared", "quota_pct": 100}],
            "ue_groups": [{"name": "u", "count": 2, "slice": "shared"}],
            "output": {"kpi_period_ms": 10_000.0, "ue_kpis": False},
            "agents": agents}


def _latency_s(spec: str) -> float:
    if spec.startswith("profile:"):
        from simran.hooks.latency import parse_latency_spec

        med = getattr(parse_latency_spec(spec, loop="non_rt"), "median_us", None)
        return 15.0 if med is None else float(med) / 1e6
    if spec.startswith("fixed:"):
        return float(spec[6:]) / 1e3
    return 1.0


def run_game(spec: dict) -> dict:
    """Run one game in simran; return the spec, the ``negotiation.*`` metrics and the transcript."""
    import agents.negotiation.mediator  # noqa: F401 - registers the kinds
    import agents.negotiation.tenant  # noqa: F401
    import simran

    w0 = time.perf_counter()
    sim = simran.Simulation(simran.Scenario.from_dict(scenario_dict(spec)))
    sim.run()
    med = next(a for a in sim.agents if a.name == "mno")
    g = med.game
    row = {"key": spec_key(spec), **spec}
    row.update({k.removeprefix("negotiation."): v for k, v in med.summary_metrics().items()})
    row["failure_reason"] = g.failure_reason if g is not None else "not started"
    last = g.rounds[-1].bids if g is not None and g.rounds else {}
    row["final_bids"] = [last.get(f"t{i + 1}") for i in range(spec["n"])]
    row["transcript"] = g.transcript() if g is not None else ""
    rows = [r for r in sim.decision_log.rows if r["agent"] != "mno"]
    row["rejected_replies"] = sum(1 for r in rows if str(r["validation"]).startswith("rejected"))
    row["reprompted"] = sum(1 for r in rows if "re-prompt" in str(r["validation"]))
    row["replies"] = len(rows)
    row["backends"] = sorted({str(r["backend"]) for r in rows})
    row["wall_s"] = time.perf_counter() - w0
    return row


# ------------------------------------------------------------------------------ the parts ------
def specs_for(part: str, games: int, embedded_games: int, latency: str) -> list[dict]:
    small = tiny()
    if part == "grid":
        sizes = (2, 5) if small else (2, 5, 10, 20)
        g = min(games, 3) if small else games
        return [make_spec("grid", n, p, i, latency=latency) for n in sizes
                for p in ("none", "soft", "hard") for i in range(g)]
    if part == "fig3a":
        g = 2 if small else 50
        pairs = [(a, b) for a in PAIR_PERSONALITIES for b in PAIR_PERSONALITIES]
        if small:
            pairs = [("normal", "normal"), ("vulnerable", "toxic"), ("toxic", "toxic")]
        out = []
        for a, b in pairs:
            for i in range(g):
                rng = np.random.default_rng(game_seed("fig3a", a, b, i))
                intents = [float(np.round(rng.uniform(0, 20), 2)),
                           float(np.round(rng.uniform(80, 100), 2))]
                s = make_spec("fig3a", 2, "none", i, personalities=[a, b], intents=intents,
                              latency=latency, arbitral=False)
                s["pair"] = f"{a[0].upper()}-{b[0].upper()}"
                s["seed"] = game_seed("fig3a", a, b, i)
                out.append(s)
        return out
    if part == "fig3b":
        sizes = (2, 5) if small else (2, 5, 10)
        g = 2 if small else 100
        return [make_spec("fig3b", n, p, i, k_max=4, latency=latency) for n in sizes
                for p in ("none", "soft", "hard") for i in range(g)]
    if part == "embedded":
        g = 1 if small else embedded_games
        out = []
        for label, pressure, grammar in (("none", "none", False), ("soft", "soft", False),
                                         ("soft+grammar", "soft", True)):
            for i in range(g):
                s = make_spec("embedded", 2, pressure, i, backend="embedded", grammar=grammar,
                              personalities=["normal", "normal"],
                              latency="tokens:this_machine_smollm2_135m",
                              mediator_latency="fixed:0")
                s["variant"] = label
                out.append(s)
        return out
    raise SystemExit(f"unknown part {part!r}; parts: {', '.join(PARTS)}")


def _read(path: Path) -> dict:
    done = {}
    if path.exists():
        for line in path.read_text().splitlines():
            if line.strip():
                try:
                    r = json.loads(line)
                except json.JSONDecodeError:
                    continue                      # a line cut by an interrupted run
                done[r["key"]] = r
    return done


def _clean(v):
    if isinstance(v, float) and not math.isfinite(v):
        return None
    if isinstance(v, dict):
        return {k: _clean(x) for k, x in v.items()}
    if isinstance(v, list):
        return [_clean(x) for x in v]
    return v


def run_part(part: str, out: Path, specs: list[dict], workers: int = 1,
             progress: bool = True) -> list[dict]:
    """Run the games of ``specs`` not yet in ``<out>/games_<part>.jsonl``; return all rows."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"games_{part}.jsonl"
    done = _read(path)
    todo = [s for s in specs if spec_key(s) not in done]
    if progress:
        print(f"{part}: {len(specs)} games, {len(specs) - len(todo)} already done, "
              f"{len(todo)} to run", file=sys.stderr)
    t0 = time.perf_counter()
    with path.open("a") as fh:
        def write(row):
            fh.write(json.dumps(_clean(row)) + "\n")
            fh.flush()
            done[row["key"]] = json.loads(json.dumps(_clean(row)))
        if workers > 1 and len(todo) > 1:
            with ProcessPoolExecutor(workers, mp_context=get_context("spawn")) as ex:
                for i, row in enumerate(ex.map(run_game, todo, chunksize=4)):
                    write(row)
                    if progress and (i + 1) % 50 == 0:
                        print(f"  {i + 1}/{len(todo)} ({time.perf_counter() - t0:.0f} s)",
                              file=sys.stderr)
        else:
            for i, s in enumerate(todo):
                write(run_game(s))
                if progress and ((i + 1) % 50 == 0 or part == "embedded"):
                    print(f"  {i + 1}/{len(todo)} ({time.perf_counter() - t0:.0f} s)",
                          file=sys.stderr)
    keys = {spec_key(s) for s in specs}
    return [r for k, r in done.items() if k in keys]


def campaign_summary(folder: str | Path) -> str:
    """MAE per pressure from a ``simran sweep`` campaign of scenarios/sweeps/type2_pressure.toml."""
    from simran.campaigns.analysis import load_campaign

    df = load_campaign(folder)
    pcol = next((c for c in df.columns if c.endswith("params.pressure")), None)
    cols = [c for c in df.columns if c.startswith("negotiation.")]
    if pcol is None or not cols:
        raise SystemExit(f"{folder}: no negotiation.* metrics or pressure column")
    g = df.groupby(pcol)[["negotiation.abs_error_mbps", "negotiation.rounds",
                          "negotiation.failed", "negotiation.time_to_consensus_s"]].mean()
    return g.to_string()


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m agents.negotiation.evaluate",
                                 description=__doc__.split("\n")[0])
    ap.add_argument("--out", default="results/type2")
    ap.add_argument("--parts", default="grid,fig3a,fig3b",
                    help=f"comma-separated of {', '.join(PARTS)}, or 'all'")
    ap.add_argument("--games", type=int, default=50, help="games per grid cell (default 50)")
    ap.add_argument("--embedded-games", type=int, default=30)
    ap.add_argument("--latency", default=DEFAULT_LATENCY,
                    help="latency model of every scripted agent (default: Table 7's "
                         "llama3.3:70b profile)")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--tiny", action="store_true", help="a few games only (as SIMRAN_CI_TINY=1)")
    ap.add_argument("--report-only", action="store_true", help="tables and figures from the "
                    "games already run")
    ap.add_argument("--campaign", help="summarise a simran sweep campaign folder instead")
    a = ap.parse_args(argv)
    if a.campaign:
        print(campaign_summary(a.campaign))
        return 0
    if a.tiny:
        os.environ["SIMRAN_CI_TINY"] = "1"
    out = Path(a.out)
    parts = PARTS if a.parts == "all" else tuple(p.strip() for p in a.parts.split(",") if p)
    rows_by_part = {}
    for part in PARTS:
        specs = specs_for(part, a.games, a.embedded_games, a.latency)
        if part in parts and not a.report_only:
            rows_by_part[part] = run_part(part, out, specs, a.workers)
        else:
            done = _read(out / f"games_{part}.jsonl")
            keys = {spec_key(s) for s in specs}
            rows_by_part[part] = [r for k, r in done.items() if k in keys]
    print(report(out, rows_by_part))
    return 0


if __name__ == "__main__":
    sys.exit(main())
