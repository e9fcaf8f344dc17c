"""A demo LLM agent small enough to read in one screen: it sets a slice's PRB quota every second.

Every period the agent reads the slice's throughput (network total over the last KPI period) and
its intent. The rule the prompt describes — and the ``scripted`` baseline, labelled as such — is a
proportional step: quota += gain · (intent − throughput) / intent · 100, clipped to
[min_quota_pct, max_quota_pct] %.

A language model does not give a number: it chooses ``{"move": "raise" | "hold" | "lower"}``,
an enum the embedded backend's grammar enforces, so every reply is a valid decision by
construction. The move is mapped to the rule's step size: raise → quota + |step|, lower →
quota − |step|, hold → quota, clipped to the range. The rule's own choice is ``hold`` within
``hold_band_pct`` (5) % of the intent, else the sign of its step; the run summary reports how
often the model chose what the rule would (``agent.<name>.agree_with_rule_pct``).
"""

from __future__ import annotations

import numpy as np

from agents.base import LLMAgent
from simran.control import SetSliceQuota
from simran.hooks import Decision, register_agent

MOVES = ("raise", "hold", "lower")


@register_agent("demo_quota")
class DemoQuotaAgent(LLMAgent):
    """params: slice (name), intent_mbps, gain (0.5), min_quota_pct (5), max_quota_pct (90),
    hold_band_pct (5: the rule holds within this % of the intent)."""

    max_tokens = 24

    def __init__(self, ctx):
        p = ctx.params
        self.slice = p.get("slice", ctx.slice_names[0])
        self.intent = float(p.get("intent_mbps", 50.0))
        self.gain = float(p.get("gain", 0.5))
        self.lo, self.hi = float(p.get("min_quota_pct", 5)), float(p.get("max_quota_pct", 90))
        self.hold_band = float(p.get("hold_band_pct", 5.0))
        self.schema = {"type": "object", "additionalProperties": False, "required": ["quota_pct"],
                       "properties": {"quota_pct": {"type": "number", "minimum": self.lo,
                                                    "maximum": self.hi}}}
        super().__init__(ctx)

    def _state(self, obs):
        s = obs.slice_names.index(self.slice)
        return float(obs.kpi_cell_slice_mbps[:, s].sum()), float(np.mean(obs.quota_pct[:, s]))

    def _step(self, obs) -> tuple[float, float, float]:
        """(throughput [Mbit/s], quota [%], the rule's step [percentage points])."""
        thr, quota = self._state(obs)
        return thr, quota, self.gain * (self.intent - thr) / max(self.intent, 1e-9) * 100.0

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
        thr, quota, step = self._step(obs)
        return {"quota_pct": float(np.clip(quota + step, self.lo, self.hi))}

    def to_decision(self, parsed, obs):
        return Decision(actions=[SetSliceQuota(slice=self.slice,
                                               quota_pct=float(parsed["quota_pct"]))])

    # -- a model chooses a move (valid by construction) --------------------------------------
    def model_schema(self):
        return {"type": "object", "additionalProperties": False, "required": ["move"],
                "properties": {"move": {"type": "string", "enum": list(MOVES)}}}

    def model_messages(self, obs):
        thr, quota = self._state(obs)
        where = "below" if thr < self.intent else "above"
        return [
            {"role": "system", "content": "You control the PRB quota of a RAN slice. Answer with "
             'JSON only: {"move": "raise" | "hold" | "lower"}.'},
            {"role": "user", "content": f"Slice {self.slice}: throughput {thr:.1f} Mbit/s, "
             f"intent {self.intent:.1f} Mbit/s, quota {quota:.0f} %. The throughput is {where} "
             f"the intent. Raise the quota if the throughput is below the intent, lower it if "
             f"above, hold it if it is within {self.hold_band:g} % of the intent."}]

    def model_policy(self, obs):
        thr, _, step = self._step(obs)
        if abs(self.intent - thr) <= self.hold_band / 100.0 * self.intent:
            return {"move": "hold"}
        return {"move": "raise" if step > 0 else "lower"}

    def from_model(self, parsed, obs):
        _, quota, step = self._step(obs)
        delta = {"raise": abs(step), "hold": 0.0, "lower": -abs(step)}[parsed["move"]]
        return {"quota_pct": float(np.clip(quota + delta, self.lo, self.hi))}

    def agrees(self, reply, rule, obs):
        same = reply["move"] == rule["move"]
        return same, same
