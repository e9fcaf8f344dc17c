"""Agents as time-scaled SimPy processes (design §3).

========================  =================================================================
module                    what it holds
========================  =================================================================
``hooks.agent``           :class:`Agent` (base class and run loop), :func:`build_agents`
``hooks.context``         :class:`AgentContext` (what an agent may use), :class:`Observation`
``hooks.decisions``       :class:`Decision`, the decision log (the audit log 𝓛)
``hooks.messages``        :class:`Message`, :class:`MessageBus`, rounds (:func:`run_round`)
``hooks.registry``        ``kind`` → agent class, safely (:func:`register_agent`)
``hooks.latency``         latency models of decisions (measured, fixed, profile, tokens)
========================  =================================================================
"""

from simran.hooks.agent import LOOP_BUDGET_MS, Agent
from simran.hooks.context import AgentContext, Observation
from simran.hooks.decisions import DECISION_COLUMNS, Decision, DecisionLog, DecisionRecord
from simran.hooks.messages import (
    Message,
    MessageBus,
    MessageError,
    Reply,
    RoundResult,
    parallel_decide,
    run_round,
)
from simran.hooks.registry import (
    AgentLoadError,
    agent_class,
    build_agents,
    register_agent,
    registered_kinds,
)

__all__ = [
    "LOOP_BUDGET_MS", "Agent", "build_agents", "AgentContext", "Observation", "DECISION_COLUMNS",
    "Decision", "DecisionLog", "DecisionRecord", "Message", "MessageBus", "MessageError", "Reply",
    "RoundResult", "parallel_decide", "run_round", "AgentLoadError", "agent_class",
    "register_agent", "registered_kinds",
]
