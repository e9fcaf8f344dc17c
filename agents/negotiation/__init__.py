"""Type II symbiotic negotiation, the simulation-free parts (papers/004 §3.3; papers/003 §III–IV).

Tenants bid a throughput in [0, 100] Mbit/s for a shared slice, a mediator proposes a consensus,
and a side-car optimizer 𝒪_in puts a 95 % interval into the prompts. These modules are pure
(numpy and text, no SimPy); the simulation-side agents and the message rounds build on them.

=================================  =============================================================
module                             concept
=================================  =============================================================
:mod:`.objective`                  the paper's Eq. 4–8 and Algorithm 1 as printed (App. A)
:mod:`.optimizer`                  𝒪_in: the exact optimal consensus (closed form), R jittered
                                   restarts vectorised, Eq. 8's interval
:mod:`.personalities`              persona prompts (LLM) and scripted stand-in bidding rules
:mod:`.extraction`                 MAESTRO unit 1: value + reasoning out of a reply
:mod:`.arbitral`                   unit 2: toxic / injection flags, warnings, weight penalties
:mod:`.regulatory`                 unit 3: per-tenant bounds and capacity from a TOML file
:mod:`.observability`              unit 4: bids above the network's current capacity
:mod:`.pressure`                   unit 5's pressure: none / soft / hard
:mod:`.validation`                 unit 7: schema, range, NaN, reasoning, interval consistency
=================================  =============================================================
"""

from agents.negotiation.arbitral import Arbiter, ArbitralVerdict, find_offences, sanitise
from agents.negotiation.errors import NegotiationInputError, RulesError
from agents.negotiation.extraction import RESPONSE_TEMPLATE, Extracted, extract
from agents.negotiation.observability import capacity_flag, capacity_text, over_capacity
from agents.negotiation.optimizer import (
    OptimizerResult,
    SidecarOptimizer,
    algorithm1_as_printed,
    optimum,
    optimum_allocation,
)
from agents.negotiation.personalities import (
    PERSONA_PROMPTS,
    PERSONALITIES,
    ScriptedBid,
    persona_prompt,
    scripted_bid,
)
from agents.negotiation.pressure import (
    PRESSURES,
    guardrail_text,
    mediator_proposal,
    prompt_interval,
    prompt_interval_text,
)
from agents.negotiation.regulatory import Rules, load_rules, rules_from_dict
from agents.negotiation.validation import Validation, reprompt_message, validate_bid

__all__ = [
    "PERSONALITIES", "PERSONA_PROMPTS", "PRESSURES", "RESPONSE_TEMPLATE", "Arbiter",
    "ArbitralVerdict", "Extracted", "NegotiationInputError", "OptimizerResult", "Rules",
    "RulesError", "ScriptedBid", "SidecarOptimizer", "Validation", "algorithm1_as_printed",
    "capacity_flag", "capacity_text", "extract", "find_offences", "guardrail_text",
    "load_rules", "mediator_proposal", "optimum", "optimum_allocation", "over_capacity",
    "persona_prompt", "prompt_interval", "prompt_interval_text", "reprompt_message",
    "rules_from_dict", "sanitise", "scripted_bid", "validate_bid",
]
