"""The scripted baseline of the benchmark: a deterministic rule, **not an LLM**.

It solves each task from its structured form (the check kind and parameters in the task file)
and the baseline KPIs, and answers through the same chat interface as a model
(:class:`agents.llm.scripted.ScriptedBackend`, ``backend = "scripted"``), so its row in the
result tables is the ceiling the harness allows — the tasks are solvable, the checks pass — and
never a language model's score. Where a closed form exists the rule uses it (slice quota from the
measured rate per % of quota, Kp = 1/c for a deadbeat loop); for the two energy tasks it tries
candidates in a fixed order (least-loaded cells first, then uniform power cuts) on the simulator
and answers the first that passes, as an operator with a digital twin would.
"""

from __future__ import annotations

import math
import re

from agents.bench.checks import CheckContext, evaluate, plant_gain_mbps_per_pct
from agents.bench.commands import ALL_CELLS, Command
from agents.bench.executor import Executor
from agents.bench.network import NetworkView
from agents.bench.tasks import ResolvedTask

TASK_TAG = re.compile(r"^Task (\S+):", re.MULTILINE)
MARGIN = 1.05
"""Head-room of quota computed from a measured rate (PRBs are whole; PF shares fluctuate)."""


def _quota_moves(cell: str, current: dict, new: dict) -> list[Command]:
    """Set quotas ``new`` from ``current`` in one cell, decreases first (never over-book)."""
    new = {s: math.floor(float(q) * 10.0) / 10.0 for s, q in new.items()}   # 0.1 % steps, down
    order = sorted(new, key=lambda s: new[s] - current[s])
    return [Command("set_slice_quota", cell=cell, slice=s, value=new[s]) for s in order]


def _current_quotas(view: NetworkView, task: ResolvedTask, cell: str) -> dict:
    q = dict(view.quota_pct)
    for c in task.setup:
        if c.action == "set_slice_quota" and c.cell in (cell, ALL_CELLS):
            q[c.slice] = c.value
    return q


def _rate_per_pct(view: NetworkView, cell: str, slice_name: str) -> float:
    """Measured slice throughput per % of quota in the baseline [Mbit/s per %]."""
    return float(view.cell.at[cell, f"mbps_{slice_name}"]) / view.quota_pct[slice_name]


class BenchRule:
    """The rule (see module docstring). Call it as a scripted policy.

    Parameters
    ----------
    tasks : dict
        Task id → :class:`ResolvedTask`.
    view : NetworkView
    executor : Executor
        Used to try candidates of the energy tasks.
    scenario : dict
        Resolved base scenario (for the Kp plant gain).
    """

    __name__ = "bench_rule"

    def __init__(self, tasks: dict, view: NetworkView, executor: Executor, scenario: dict):
        self.tasks, self.view, self.executor, self.scenario = tasks, view, executor, scenario

    def __call__(self, messages: list[dict], schema: dict | None = None) -> dict:
        """Answer the latest ``Task <id>:`` in the user messages."""
        ids = [m for msg in messages if msg["role"] == "user"
               for m in TASK_TAG.findall(msg["content"])]
        if not ids:
            return {"commands": []}
        return {"commands": [c.to_json() for c in self.solve(self.tasks[ids[-1]])]}

    def solve(self, task: ResolvedTask) -> list[Command]:
        """The rule's commands for one task."""
        return getattr(self, f"_{task.task.kind}")(task, task.params)

    def _passes(self, task: ResolvedTask, cmds: list[Command]) -> bool:
        ex = self.executor.execute(self.view, cmds, task.setup)
        ctx = CheckContext(self.view, ex, self.scenario)
        return evaluate(task.task.kind, task.params, ctx).ok

    def _first_passing(self, task: ResolvedTask, candidates: list[list[Command]]):
        for cmds in candidates:
            if self._passes(task, cmds):
                return cmds
        return candidates[0]

    # ------------------------------------------------------------------ one rule per kind ----
    def _cell_power(self, task, p):
        return [Command("set_cell_state", cell=p["cell"], state="on"),
                Command("set_cell_power", cell=p["cell"], value=p["power_dbm"])]

    def _slice_quota(self, task, p):
        others = [s for s in self.view.slices if s != p["slice"]]
        rest = sum(self.view.quota_pct[s] for s in others) or 1.0
        new = {s: (100.0 - p["quota_pct"]) * self.view.quota_pct[s] / rest for s in others}
        new[p["slice"]] = p["quota_pct"]
        return _quota_moves(ALL_CELLS, dict(self.view.quota_pct), new)

    def _intent(self, task, p):
        return [Command("set_intent", slice=p["slice"], value=p["target_mbps"],
                        tolerance_mbps=p["tolerance_mbps"])]

    def _least_loaded_off(self, task, p):
        return [Command("set_cell_state", cell=self.view.least_loaded(p["site"]), state="off")]

    def _slice_min_mbps(self, task, p):
        return self._slice_intents(task, {"cell": p["cell"], "min_mbps": {p["slice"]:
                                                                          p["min_mbps"]}})

    def _slice_intents(self, task, p):
        cell, mins = p["cell"], p["min_mbps"]
        need = {s: min(MARGIN * v / _rate_per_pct(self.view, cell, s), 100.0)
                for s, v in mins.items()}
        slack = max(99.9 - sum(need.values()), 0.0)     # 0.1 % spare: no float over-booking
        rest = [s for s in self.view.slices if s not in need]
        new = dict(need)
        for s in rest:
            new[s] = slack / len(rest)
        if not rest:
            total = sum(need.values())
            new = {s: q + slack * q / total for s, q in need.items()}
        return _quota_moves(cell, _current_quotas(self.view, task, cell), new)

    def _kp_converges(self, task, p):
        c = plant_gain_mbps_per_pct(self.scenario["network"], p["cqi"])
        return [Command("set_kp", slice=p["slice"], value=round(1.0 / c, 4))]

    def _by_load(self) -> list[str]:
        mbps = self.view.cell[[f"mbps_{s}" for s in self.view.slices]].sum(axis=1)
        return sorted(self.view.names, key=lambda n: (self.view.cell.at[n, "n_ue"], mbps[n], n))

    def _sleep_keep_min(self, task, p):
        return self._first_passing(task, [[Command("set_cell_state", cell=n, state="sleep")]
                                          for n in self._by_load()])

    def _power_cut(self, task, p):
        cuts = [[Command("set_cell_power", cell=ALL_CELLS, value=self.view.power_dbm - d)]
                for d in (1.0, 2.0, 3.0, 4.0, 6.0)]
        sleeps = [[Command("set_cell_state", cell=n, state="sleep")] for n in self._by_load()]
        pairs = [[a[0], b[0]] for a in sleeps[:4] for b in cuts[:3]]
        return self._first_passing(task, cuts + sleeps + pairs)
