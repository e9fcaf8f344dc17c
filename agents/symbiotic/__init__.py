"""Type I symbiotic agent (papers/004 §3.2): a P-controller on slice PRBs, an LLM meta-tuner of
its gain, and the paper's baselines (§3.2.2, §5.1.2).

Agent kinds (registered on import and as ``simran.agents`` entry points):

``pcontrol``          :class:`~agents.symbiotic.pcontrol.PController` — rt, every tick
``kp_meta_tuner``     :class:`~agents.symbiotic.metatuner.KpMetaTuner` — near-RT LLM 𝒫_θ
``bo_quota``          :class:`~agents.symbiotic.baselines.BayesOptQuota` — GP-EI on the quota
``qlearning_quota``   :class:`~agents.symbiotic.baselines.QLearningQuota` — tabular Q-learning
``llm_quota``         :class:`~agents.symbiotic.baselines.LLMQuota` — standalone LLM sets PRBs

:mod:`agents.symbiotic.metrics` computes Table 4's columns, :mod:`agents.symbiotic.methods`
names the compared methods, ``python -m agents.symbiotic.evaluate`` runs them over routes.
See ``docs/type1.md``.
"""

from agents.symbiotic.baselines import BayesOptQuota, LLMQuota, QLearningQuota
from agents.symbiotic.metatuner import KpMetaTuner
from agents.symbiotic.pcontrol import PController

__all__ = ["BayesOptQuota", "KpMetaTuner", "LLMQuota", "PController", "QLearningQuota"]
