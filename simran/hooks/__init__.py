"""Agents as time-scaled SimPy processes (design §3)."""

from simran.hooks.agent import (  # noqa: F401
    DECISION_COLUMNS,
    LOOP_BUDGET_MS,
    Agent,
    Decision,
    DecisionLog,
    DecisionRecord,
    Message,
    Observation,
    agent_class,
    build_agent,
    parallel_decide,
    register_agent,
)
