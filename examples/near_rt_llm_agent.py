"""A near-RT LLM agent (an xApp): a language model picks the cell's transmit power from a few
levels every 500 ms, to save energy when the cell is lightly loaded.

Run it::

    python examples/near_rt_llm_agent.py                      # the scripted rule (no model)
    python examples/near_rt_llm_agent.py --backend embedded   # SmolLM2-135M in-process
    python examples/near_rt_llm_agent.py --backend ollama:llama3.2:3b

What it shows

* subclassing :class:`agents.base.LLMAgent`: :meth:`messages` (the prompt), :attr:`schema`,
  :meth:`policy` (the deterministic rule the prompt describes: the ``scripted`` backend and
  the fallback when a reply is rejected), :meth:`to_decision`;
* a reply **valid by construction**: the schema's ``power_dbm`` is an ``enum`` of the allowed
  levels, which the embedded backend turns into a grammar; the reply is validated anyway;
* :meth:`agrees`: how often the model chose what the rule would (``agree_with_rule_pct`` in the
  summary when a model answered);
* the latency of a decision charged in simulated time (``tokens:this_machine_smollm2_135m``:
  the reply's token counts at this machine's measured speed) against the near-RT budget (1 s).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import one_cell, show  # noqa: E402

import simran  # noqa: E402
from agents.base import LLMAgent  # noqa: E402
from simran.control import SetCellPower  # noqa: E402
from simran.hooks import Decision, register_agent  # noqa: E402

LEVELS_DBM = [40.0, 43.0, 46.0]


@register_agent("example_power_llm")
class PowerLLM(LLMAgent):
    """Cell 0's transmit power from :data:`LEVELS_DBM` by PRB utilisation.

    Rule: utilisation < ``low`` (0.3) → 40 dBm, < ``high`` (0.7) → 43 dBm, else 46 dBm.
    """

    max_tokens = 16
    schema = {"type": "object", "additionalProperties": False, "required": ["power_dbm"],
              "properties": {"power_dbm": {"type": "number", "enum": LEVELS_DBM}}}

    def __init__(self, ctx):
        self.low = float(ctx.params.get("low", 0.3))
        self.high = float(ctx.params.get("high", 0.7))
        super().__init__(ctx)

    def messages(self, obs):
        util = float(obs.tick_prb_util[0])
        return [{"role": "system", "content": "You set a 5G cell's transmit power to save "
                 'energy. Answer with JSON only: {"power_dbm": 40 | 43 | 46}.'},
                {"role": "user", "content": f"PRB utilisation {util:.0%}, transmit power "
                 f"{float(obs.tx_power_dbm[0]):g} dBm. Use 40 dBm below {self.low:.0%} "
                 f"utilisation, 43 dBm below {self.high:.0%}, else 46 dBm."}]

    def policy(self, obs):
        util = float(obs.tick_prb_util[0])
        level = 40.0 if util < self.low else 43.0 if util < self.high else 46.0
        return {"power_dbm": level}

    def to_decision(self, parsed, obs):
        return Decision(actions=[SetCellPower(power_dbm=float(parsed["power_dbm"]), cell=0)])

    def agrees(self, reply, rule, obs):
        same = reply["power_dbm"] == rule["power_dbm"]
        return same, same


def scenario(duration_s: float = 5.0, backend: str = "scripted") -> simran.Scenario:
    agent = {"name": "power", "kind": "example_power_llm", "loop": "near_rt",
             "period_ms": 500.0, "latency": "tokens:this_machine_smollm2_135m",
             "backend": backend}
    # the eMBB phones stop being served after 2 s (quota 0): the cell is then lightly loaded
    drop = {"at_s": 2.0, "action": "set_slice_quota", "slice": "embb", "value": 0.0}
    return simran.Scenario.from_dict(one_cell(duration_s, [agent], events=[drop]))


def main(duration_s: float = 5.0, backend: str = "scripted") -> simran.RunResult:
    res = simran.run_scenario(scenario(duration_s, backend), None)
    print(f"agent power: {res.backends['power']}")
    show(res.summary, ("throughput_mbps_mean", "energy_kwh"))
    return res


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--duration", type=float, default=5.0, help="simulated seconds")
    ap.add_argument("--backend", default="scripted", help="scripted | embedded | auto | "
                    "ollama:<model> | openai:<model>")
    a = ap.parse_args()
    main(a.duration, a.backend)
