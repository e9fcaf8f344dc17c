"""A demo LLM agent small enough to read in one screen: it sets a slice's PRB quota every second.

Every period the agent reads the slice's throughput (network total over the last KPI period) and
its intent, and asks the model for a new quota in [min_quota_pct, max_quota_pct] %. The rule the
prompt describes — and the ``scripted`` baseline, labelled as such — is a proportional step:
quota += gain · (intent − throughput) / intent · 100, clipped to the range.
"""

from __future__ import annotations

import numpy as np

from agents.base import LLMAgent
from simran.control import SetSliceQuota
from simran.hooks import Decision, register_agent


@register_agent("demo_quota")
class DemoQuotaAgent(LLMAgent):
    """params: slice (name), intent_mbps, gain (0.5), min_quota_pct (5), max_quota_pct (90)."""

    max_tokens = 24

    def __init__(self, ctx):
        p = ctx.params
        self.slice = p.get("slice", ctx.slice_names[0])
        self.intent = float(p.get("intent_mbps", 50.0))
        self.gain = float(p.get("gain", 0.5))
        self.lo, self.hi = float(p.get("min_quota_pct", 5)), float(p.get("max_quota_pct", 90))
        self.schema = {"type": "object", "additionalProperties": False, "required": ["quota_pct"],
                       "properties": {"quota_pct": {"type": "number", "minimum": self.lo,
                                                    "maximum": self.hi}}}
        super().__init__(ctx)

    def _state(self, obs):
        s = obs.slice_names.index(self.slice)
        return float(obs.kpi_cell_slice_mbps[:, s].sum()), float(np.mean(obs.quota_pct[:, s]))

    def messages(self, obs):
        thr, quota = self._state(obs)
        return [
            {"role": "system", "content": "You control the PRB quota of a RAN slice. Answer with "
             'JSON only: {"quota_pct": <number>}.'},
            {"role": "user", "content": f"Slice {self.slice}: throughput {thr:.1f} Mbit/s, "
             f"intent {self.intent:.1f} Mbit/s, quota {quota:.0f} %. Raise the quota if the "
             f"throughput is below the intent, lower it if above. Give a quota between "
             f"{self.lo:g} and {self.hi:g}."}]

    def policy(self, obs):
        thr, quota = self._state(obs)
        step = self.gain * (self.intent - thr) / max(self.intent, 1e-9) * 100.0
        return {"quota_pct": float(np.clip(quota + step, self.lo, self.hi))}

    def to_decision(self, parsed, obs):
        return Decision(actions=[SetSliceQuota(slice=self.slice,
                                               quota_pct=float(parsed["quota_pct"]))])
