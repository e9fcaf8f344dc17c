"""The methods Table 4 and Fig. 14 of papers/004 compare, as ``[[agents]]`` lists.

A method is named by a spec string:

``pcontrol_tuned`` / ``pcontrol_untuned`` / ``pcontrol:<kp>``
    P-control alone (Kp 0.75 / 0.10 / any).
``symbiotic/<backend>/<latency>``
    P-control from the untuned gain (0.10) plus the meta-tuner with an LLM backend (``scripted``,
    ``embedded``, ``ollama:<model>``, ``auto``, ``replay:<file>``) and a latency model
    (``fixed:0``, ``profile:llama3.2:3b``, ``tokens:<hardware>``, ``measured``).
``standalone/<backend>/<latency>[/memory=<n>]``
    A standalone LLM sets the quota every tick it is free (stateless, or with a memory of n past
    observations), ``late = "apply"``. It sets PRBs itself, so it sits in the ``rt`` loop (10 ms
    budget) and every decision is flagged late; ``profile:<model>`` is charged from Table 4
    (``profile:<model>@near_rt``: the per-call latency the paper measured).
``bo`` / ``qlearning``
    Bayesian optimisation (GP-EI, 0.4–4 s per probe) / Q-learning (13 µs).

Presets: ``table4`` (the Table 4 rows a simulation can produce without a model), ``fig14``
(Fig. 14a's controllers), ``all`` (both), ``embedded`` (SmolLM2-135M as meta-tuner, at this
machine's token rates and at the paper's 1B latency).
"""

from __future__ import annotations

import csv

from simran.hooks.latency import datasets_dir

TICK_MS = 5.0
SYMBIOTIC_MODELS = ("llama3.2:3b", "llama3.1:8b", "gpt-4o", "llama3.3:70b")
"""Latency profiles of the symbiotic rows (3B to 70B). With the scripted rule only the latency
differs between them; any other Table 4 model works as ``symbiotic/scripted/profile:<model>``."""
STANDALONE_MODELS = ("gpt-4o", "llama3.3:70b", "mistral-7b", "llama3.1:8b")
EMBEDDED_TOKENS = "tokens:this_machine_smollm2_135m"

PRESETS = {
    "table4": ["pcontrol_tuned", "pcontrol_untuned", "symbiotic/scripted/fixed:0",
               *[f"symbiotic/scripted/profile:{m}" for m in SYMBIOTIC_MODELS],
               *[f"standalone/scripted/profile:{m}" for m in STANDALONE_MODELS]],
    "fig14": ["pcontrol_tuned", "bo", "qlearning", "standalone/scripted/profile:gpt-4o",
              "standalone/scripted/fixed:1100/memory=150"],
    "embedded": [f"symbiotic/embedded/{EMBEDDED_TOKENS}", "symbiotic/embedded/profile:llama3.2:1b"],
}
PRESETS["all"] = list(dict.fromkeys(PRESETS["table4"] + PRESETS["fig14"]))


def expand_methods(names: list[str]) -> list[str]:
    """Replace preset names by their methods (order kept, duplicates dropped)."""
    out: list[str] = []
    for n in names:
        out += PRESETS.get(n, [n])
    return list(dict.fromkeys(out))


def _pcontrol(kp: float) -> dict:
    return {"name": "pcontrol", "kind": "pcontrol", "loop": "rt", "period_ms": TICK_MS,
            "latency": "fixed:0.001", "params": {"slice": "vehicle", "kp": kp}}


def method_agents(spec: str, slice_name: str = "vehicle") -> list[dict]:
    """The ``[[agents]]`` entries of a method spec (see the module docstring)."""
    parts = spec.split("/")
    head = parts[0]
    if head in ("pcontrol_tuned", "pcontrol_untuned") or head.startswith("pcontrol:"):
        kp = {"pcontrol_tuned": 0.75, "pcontrol_untuned": 0.10}.get(head)
        agents = [_pcontrol(kp if kp is not None else float(head.split(":", 1)[1]))]
    elif head == "symbiotic" and len(parts) == 3:
        agents = [_pcontrol(0.10),
                  {"name": "tuner", "kind": "kp_meta_tuner", "loop": "near_rt",
                   "latency": parts[2], "backend": parts[1],
                   "params": {"controller": "pcontrol", "tau": 2.0, "memory": 10}}]
    elif head == "standalone" and len(parts) in (3, 4):
        mem = int(parts[3].split("=", 1)[1]) if len(parts) == 4 else 0
        latency = parts[2]
        if latency.startswith("profile:") and "@" not in latency:
            latency += "@near_rt"              # Table 4's per-call latency, in the rt loop
        agents = [{"name": "llm", "kind": "llm_quota", "loop": "rt", "period_ms": TICK_MS,
                   "latency": latency, "late": "apply", "backend": parts[1],
                   "params": {"slice": "vehicle", "memory": mem}}]
    elif head == "bo":
        agents = [{"name": "bo", "kind": "bo_quota", "loop": "rt", "period_ms": TICK_MS,
                   "latency": "fixed:400", "late": "apply", "params": {"slice": "vehicle"}}]
    elif head == "qlearning":
        agents = [{"name": "qlearning", "kind": "qlearning_quota", "loop": "rt",
                   "period_ms": TICK_MS, "latency": "fixed:0.013",
                   "params": {"slice": "vehicle"}}]
    else:
        raise ValueError(f"unknown Type I method {spec!r}; presets: {', '.join(PRESETS)}")
    for a in agents:
        if "slice" in a["params"]:
            a["params"]["slice"] = slice_name
    return agents


def label(spec: str) -> str:
    """A short human label of a method spec."""
    parts = spec.split("/")
    if parts[0] in ("symbiotic", "standalone"):
        lat = parts[2].replace("profile:", "")
        mem = " +memory" if len(parts) == 4 else ""
        return f"{parts[0]} [{parts[1]}] @{lat}{mem}"
    return {"pcontrol_tuned": "P-Control tuned (0.75)",
            "pcontrol_untuned": "P-Control untuned (0.10)", "bo": "Bayesian opt. (GP-EI)",
            "qlearning": "Q-learning"}.get(spec, spec)


def paper_row(spec: str) -> dict:
    """The paper's Table 4 figures for the row a method corresponds to ({} if none)."""
    parts = spec.split("/")
    key = None
    if spec == "pcontrol_tuned":
        key = ("P-Control", "tuned")
    elif spec == "pcontrol_untuned":
        key = ("P-Control", "untuned")
    elif parts[0] in ("symbiotic", "standalone") and parts[2].startswith("profile:"):
        key = (parts[2].split(":", 1)[1], parts[0])
    if key is None:
        return FIG14.get(spec, {})
    with open(datasets_dir() / "llm_latency_profiles.csv", newline="", encoding="utf-8") as f:
        for r in csv.DictReader(f):
            if r["table"] == "4" and (r["model"], r["design"]) == key:
                return {"rmse_mbps": float(r["rmse_mbps"]), "iterations": float(r["iterations"]),
                        "convergence_ms": float(r["convergence_ms"]),
                        "latency_ms": float(r["latency_ms"]), "source": "Table 4"}
    return {}


FIG14 = {
    "bo": {"rmse_mbps": 38.5, "iterations": 5.3, "latency_ms": float("nan"),
           "source": "Fig. 14a (0.4–4 s per probe)"},
    "qlearning": {"rmse_mbps": 26.8, "iterations": 5.0, "latency_ms": 0.013,
                  "source": "Fig. 14a"},
    "standalone/scripted/fixed:1100/memory=150": {"rmse_mbps": 8.8, "iterations": 1.7,
                                                  "latency_ms": 1100.0,
                                                  "source": "Fig. 14a (stateful GPT-4o)"},
}
"""Fig. 14a's figures (P-Control there: RMSE 7.7, 2.2 iterations, 1 µs)."""
