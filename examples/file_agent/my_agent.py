"""An agent in a file next to its scenario: ``kind = "my_agent.py:MyAgent"`` in scenario.toml.

Run it::

    simran run examples/file_agent/scenario.toml --out runs/file_agent

No package, no entry point, no ``PYTHONPATH``: the path is relative to the scenario file's folder
(:mod:`simran.hooks.registry`). simran imports this file — a scenario that names code runs that
code, like a script — and checks that ``MyAgent`` derives from :class:`simran.hooks.Agent` before
calling anything.

The agent switches idle cells to sleep (to save energy): every period, each cell whose PRB
utilisation (``obs.tick_prb_util`` [C], in [0, 1]) is below ``sleep_below`` and that serves no UE
is put to sleep (:class:`simran.control.SetCellState`); cell states are ``obs.cell_state`` [C] with
0 on, 1 off, 2 sleep.
"""

from __future__ import annotations

import numpy as np

from simran.control import SetCellState
from simran.hooks import Agent, Decision


class MyAgent(Agent):
    """Sleep idle cells. params: ``sleep_below`` (PRB utilisation, default 0.01)."""

    def __init__(self, ctx):
        super().__init__(ctx)
        self.sleep_below = float(ctx.params.get("sleep_below", 0.01))

    def decide(self, obs):
        served = np.bincount(obs.ue_cell, minlength=len(obs.cell_state))     # UEs per cell [C]
        idle = (obs.tick_prb_util < self.sleep_below) & (served == 0) & (obs.cell_state == 0)
        actions = [SetCellState(state="sleep", cell=int(c)) for c in np.flatnonzero(idle)]
        return Decision(actions=actions, note=f"{len(actions)} idle cell(s) to sleep")
