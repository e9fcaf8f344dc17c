"""Execution of commands on simran: the benchmark's network emulator (papers/002 §II-B).

A task's *setup* commands and then the model's commands become scripted events at t = 0 of one
short run of the base scenario (``simran.load_scenario`` + ``[[events]]``), so every command goes
through simran's control surface exactly as an agent's action would: an unknown state is
rejected, a quota outside [0, 100] % or one that would over-book the cell is clamped, a power
outside [0, P_base + 3 dB] is clamped, and the verdict is in the run's event log. The run's
results file is loaded with :func:`simran.load_results`; the task's check reads it.

``set_kp`` is not a network action: the executor keeps the gain per slice after clamping it to
[0, :data:`~agents.bench.commands.KP_MAX`] % per Mbit/s, and the Kp check evaluates it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import simran
from agents.bench.commands import ALL_CELLS, KP_MAX, Command
from agents.bench.network import NetworkView
from simran.output.results import Results
from simran.scenario import Scenario


@dataclass
class Verdict:
    """The guard-rail verdict on one command: ``accepted``, ``clamped`` or ``rejected``."""

    command: dict
    status: str
    reason: str = ""


@dataclass
class Execution:
    """What happened when a command list was applied.

    Attributes
    ----------
    verdicts : list of Verdict
        One per model command, in order.
    results : Results or None
        The check run's results (``None`` if simran refused the scenario).
    kp : dict
        Slice → P-controller gain after the guard-rail [% of PRBs per Mbit/s].
    error : str or None
        Why the run could not happen at all.
    """

    verdicts: list[Verdict] = field(default_factory=list)
    results: Results | None = None
    kp: dict = field(default_factory=dict)
    error: str | None = None

    def problems(self) -> list[str]:
        """Guard-rail interventions, in words, one per clamped or rejected command."""
        return [f"command {i + 1} ({v.command['action']}) {v.status}: {v.reason}"
                for i, v in enumerate(self.verdicts) if v.status != "accepted"]


def _event(cmd: Command, view: NetworkView) -> dict:
    """The scenario ``[[events]]`` entry (at t = 0) of one network command."""
    cell = None if cmd.cell in (None, ALL_CELLS) else view.index(cmd.cell)
    if cmd.action == "set_slice_quota":
        return {"at_s": 0.0, "action": "set_slice_quota", "cell": cell, "slice": cmd.slice,
                "value": cmd.value}
    if cmd.action == "set_cell_power":
        return {"at_s": 0.0, "action": "set_cell_power", "cell": cell, "value": cmd.value}
    if cmd.action == "set_cell_state":
        return {"at_s": 0.0, "action": f"cell_{cmd.state}", "cell": cell}
    return {"at_s": 0.0, "action": "set_intent", "slice": cmd.slice, "value": cmd.value,
            "tolerance": cmd.tolerance_mbps}


def _kp_verdict(cmd: Command, kp: dict) -> Verdict:
    value = min(max(cmd.value, 0.0), KP_MAX)
    kp[cmd.slice] = value
    if value != cmd.value:
        return Verdict(cmd.to_json(), "clamped",
                       f"kp {cmd.value:g} outside [0, {KP_MAX:g}]: clamped to {value:g}")
    return Verdict(cmd.to_json(), "accepted")


class Executor:
    """Runs the base scenario with commands applied at t = 0.

    Parameters
    ----------
    base : str or pathlib.Path
        Base scenario file.
    workdir : str or pathlib.Path
        Folder for the check runs' results files (one file, overwritten per run).
    overrides : list of str
        ``--set``-style overrides of the base scenario (e.g. ``"simulation.duration_s=1"``).
    """

    def __init__(self, base: str | Path, workdir: str | Path, overrides: list[str] = ()):
        self.base = Path(base)
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.scenario = simran.load_scenario(self.base, list(overrides))
        self.runs = 0

    def baseline(self) -> Results:
        """Run the base scenario unchanged and load its results."""
        return self._run([])

    def _run(self, events: list[dict]) -> Results:
        data = self.scenario.to_dict()
        data["events"] = list(data.get("events", [])) + events
        scen = Scenario.from_dict(data, source=str(self.base), base_dir=self.base.parent)
        path = self.workdir / "check.h5"
        simran.run_scenario(scen, path)
        self.runs += 1
        return simran.load_results(path)

    def execute(self, view: NetworkView, commands: list[Command],
                setup: list[Command] = ()) -> Execution:
        """Apply ``setup`` then ``commands`` at t = 0, run, and collect the verdicts.

        Parameters
        ----------
        view : NetworkView
            Maps cell names to indices.
        commands : list of Command
            The model's commands (verdicts are reported for these).
        setup : list of Command
            The task's starting state (applied first; never reported).

        Returns
        -------
        Execution
        """
        out = Execution()
        net_cmds = [c for c in commands if c.action != "set_kp"]
        for c in setup:
            if c.action == "set_kp":
                _kp_verdict(c, out.kp)
        events = [_event(c, view) for c in setup if c.action != "set_kp"]
        events += [_event(c, view) for c in net_cmds]
        try:
            out.results = self._run(events)
        except simran.SimranError as exc:
            out.error = f"simran refused the commands: {exc}"
            return out
        logged = self._action_log(out.results)[len(events) - len(net_cmds):]
        it = iter(logged)
        for c in commands:
            if c.action == "set_kp":
                out.verdicts.append(_kp_verdict(c, out.kp))
            else:
                status, reason = next(it, ("rejected", "no verdict logged"))
                out.verdicts.append(Verdict(c.to_json(), status, reason))
        return out

    @staticmethod
    def _action_log(results: Results) -> list[tuple[str, str]]:
        """(verdict, reason) of every scripted action in the run's event log, in order."""
        ev = results.events
        rows = []
        for kind, detail in zip(ev["kind"], ev["detail"]):
            d = json.loads(detail) if isinstance(detail, str) else detail
            if kind == "action" and d.get("origin") == "event":
                rows.append((d.get("verdict", "?"), d.get("reason", "")))
        return rows
