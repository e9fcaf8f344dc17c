"""OpenAI-compatible backend against the compatible stub server on 127.0.0.1 (real HTTP).

The stub (agents/llm/openai_compat.py) stands in for vLLM / llama.cpp server / LM Studio /
OpenAI, none of which can run here. Each fault the issue names — server down, a hang (→ timeout),
HTTP 500, a body that is not JSON — must become BackendUnavailable with a readable reason, so the
FallbackBackend hands over to the deterministic policy exactly as for Ollama.
"""

from __future__ import annotations

import json
import time

import pytest

from agents.llm.base import BackendUnavailable
from agents.llm.factory import make_backend
from agents.llm.fallback import FallbackBackend
from agents.llm.openai_backend import OpenAIBackend, default_base_url
from agents.llm.openai_compat import OpenAICompatServer

KP_SCHEMA = {"type": "object", "additionalProperties": False, "required": ["kp"],
             "properties": {"kp": {"type": "number", "minimum": 0, "maximum": 5}}}
MSGS = [{"role": "system", "content": "You tune a gain."}, {"role": "user", "content": "kp?"}]


def _fixed(text: str):
    return lambda messages, schema: text


@pytest.fixture
def server():
    with OpenAICompatServer(_fixed('{"kp": 1.5}'), models=["m1"]) as srv:
        yield srv


def test_structured_request_carries_json_schema_and_reply_is_parsed(server):
    b = OpenAIBackend("m1", base_url=server.url, timeout_s=5)
    reply = b.chat(MSGS, KP_SCHEMA, max_tokens=17, temperature=0.0)
    assert reply.parsed == {"kp": 1.5} and reply.error is None
    assert (reply.backend, reply.model) == ("openai", "m1")
    assert reply.completion_tokens > 0 and reply.wall_s > 0
    body = server.bodies[-1]
    assert body["response_format"]["type"] == "json_schema"
    assert body["response_format"]["json_schema"]["schema"] == KP_SCHEMA
    assert body["max_tokens"] == 17 and body["stream"] is False
    assert b.structured == "auto"


def test_server_without_structured_output_falls_back_to_instructions(server):
    server.set_mode("no_schema")
    b = OpenAIBackend("m1", base_url=server.url, timeout_s=5)
    reply = b.chat(MSGS, KP_SCHEMA)
    assert reply.parsed == {"kp": 1.5}
    assert b.structured == "instructions" and "instructions" in b.describe()
    # first request was refused (json_schema), the retry had the schema in the system message
    assert server.bodies[0]["response_format"]["type"] == "json_schema"
    retry = server.bodies[1]
    assert "response_format" not in retry
    assert retry["messages"][0]["content"].startswith("You tune a gain.")
    assert '"maximum": 5' in retry["messages"][0]["content"]
    assert retry["messages"][1] == MSGS[1]
    # later calls go straight to instructions: one request each
    b.chat(MSGS, KP_SCHEMA)
    assert len(server.bodies) == 3 and "response_format" not in server.bodies[2]


def test_instructions_added_as_system_message_when_there_is_none(server):
    b = OpenAIBackend("m1", base_url=server.url, structured="instructions")
    b.chat([{"role": "user", "content": "kp?"}], KP_SCHEMA)
    sent = server.bodies[-1]["messages"]
    assert sent[0]["role"] == "system" and "JSON schema" in sent[0]["content"]
    assert sent[1] == {"role": "user", "content": "kp?"}


def test_strict_json_schema_mode_does_not_fall_back(server):
    server.set_mode("no_schema")
    b = OpenAIBackend("m1", base_url=server.url, structured="json_schema")
    with pytest.raises(BackendUnavailable, match="HTTP 400: response_format json_schema"):
        b.chat(MSGS, KP_SCHEMA)


def test_no_schema_sends_no_response_format(server):
    OpenAIBackend("m1", base_url=server.url).chat(MSGS)
    assert "response_format" not in server.bodies[-1]


@pytest.mark.parametrize("mode, pattern", [
    ("down", "connection refused"),
    ("hang", r"no reply within 0.4 s \(ReadTimeout\)"),
    ("error500", "HTTP 500: injected fault"),
    ("garbage", "malformed response"),
])
def test_transport_faults_become_backend_unavailable(server, mode, pattern):
    server.set_mode(mode)
    b = OpenAIBackend("m1", base_url=server.url, timeout_s=0.4)
    t0 = time.perf_counter()
    with pytest.raises(BackendUnavailable, match=pattern) as info:
        b.chat(MSGS, KP_SCHEMA)
    assert f"openai m1 @ {server.url}" in str(info.value)
    assert time.perf_counter() - t0 < 3.0          # a hang costs the timeout, not more
    server.set_mode("ok")                          # and the server recovers (down re-binds)
    assert b.chat(MSGS, KP_SCHEMA).parsed == {"kp": 1.5}


def test_unknown_model_is_http_404(server):
    with pytest.raises(BackendUnavailable, match="HTTP 404: The model `nope` does not exist"):
        OpenAIBackend("nope", base_url=server.url).chat(MSGS)


@pytest.mark.parametrize("text, error", [
    ("Sure! I would set kp to 1.2.", "not JSON"),
    ("", "empty reply"),
    ('{"kp": 1e9}', "kp=1e9 above maximum 5"),
    ('{"gain": 1}', "missing field kp"),
])
def test_delivered_but_bad_reply_is_the_models_decision(text, error):
    with OpenAICompatServer(_fixed(text), models=["m1"]) as srv:
        reply = OpenAIBackend("m1", base_url=srv.url).chat(MSGS, KP_SCHEMA)
    assert reply.parsed is None and error in reply.error and reply.text == text


def test_api_key_from_environment(monkeypatch):
    with OpenAICompatServer(_fixed('{"kp": 1}'), models=["m1"], api_key="sk-test") as srv:
        monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
        assert OpenAIBackend("m1", base_url=srv.url).chat(MSGS).text == '{"kp": 1}'
        monkeypatch.setenv("OPENAI_API_KEY", "sk-wrong")
        with pytest.raises(BackendUnavailable, match="HTTP 401: invalid API key"):
            OpenAIBackend("m1", base_url=srv.url).chat(MSGS)


def test_base_url_from_environment(monkeypatch, server):
    monkeypatch.setenv("OPENAI_BASE_URL", server.url + "/")
    assert default_base_url() == server.url
    assert OpenAIBackend("m1").chat(MSGS, KP_SCHEMA).parsed == {"kp": 1.5}
    monkeypatch.delenv("OPENAI_BASE_URL")
    assert default_base_url() == "https://api.openai.com/v1"


def test_available_probe(server):
    assert OpenAIBackend("m1", base_url=server.url).available()[0]
    ok, why = OpenAIBackend("m2", base_url=server.url).available()
    assert not ok and "server has: m1" in why
    server.set_mode("down")
    ok, why = OpenAIBackend("m1", base_url=server.url).available(timeout_s=0.5)
    assert not ok and "connection refused" in why


def test_bad_arguments():
    with pytest.raises(ValueError, match="must not be empty"):
        OpenAIBackend("")
    with pytest.raises(ValueError, match="structured="):
        OpenAIBackend("m1", structured="maybe")
    with pytest.raises(ValueError, match="openai:<model>"):
        make_backend("openai:")


def test_factory_openai_spec_falls_back_to_the_policy_when_the_server_dies(monkeypatch, server):
    monkeypatch.setenv("OPENAI_BASE_URL", server.url)

    def policy(messages, schema):
        return {"kp": 0.75}

    backend = make_backend("openai:m1", policy, timeout_s=0.5)
    assert isinstance(backend, FallbackBackend) and "openai m1" in backend.describe()
    assert backend.chat(MSGS, KP_SCHEMA).backend == "openai"
    server.set_mode("error500")
    reply = backend.chat(MSGS, KP_SCHEMA)
    assert reply.backend == "scripted" and reply.parsed == {"kp": 0.75}
    assert "HTTP 500" in reply.fallback_reason


def _satisfying(schema: dict) -> dict:
    """A reply valid for a flat object schema: the first enum value or a number in range."""
    out = {}
    for key in schema.get("required", []):
        prop = schema["properties"][key]
        if "enum" in prop:
            out[key] = prop["enum"][0]
        elif prop.get("type") in ("number", "integer"):
            lo, hi = prop.get("minimum", 0), prop.get("maximum", prop.get("minimum", 0) + 2)
            out[key] = (lo + hi) // 2 if prop["type"] == "integer" else (lo + hi) / 2
        else:
            out[key] = "x"
    return out


def test_llm_agent_in_a_simulation_uses_the_openai_backend(monkeypatch, tmp_path):
    """The quickstart's LLM agent, built by the factory from its scenario's backend spec: the
    first reply satisfies the agent's schema, the second is prose."""
    import simran

    sent = []

    def responder(messages, schema):
        sent.append(schema)
        return json.dumps(_satisfying(schema)) if len(sent) == 1 else "I think 60 would be nice"

    with OpenAICompatServer(responder, models=["m1"]) as srv:
        monkeypatch.setenv("OPENAI_BASE_URL", srv.url)
        scen = simran.load_scenario("scenarios/quickstart.toml", [
            "simulation.duration_s=3", "agents.0.backend=openai:m1",
            "agents.0.latency=fixed:10", "output.ue_kpis=false"])
        run = simran.run_scenario(scen, tmp_path / "r.h5")
        bodies = list(srv.bodies)
    assert "openai m1" in run.backends["quota-tuner"]
    dec = simran.load_results(tmp_path / "r.h5").decisions
    assert len(bodies) == len(dec) == 2                     # observes at t = 1 s and 2 s
    assert bodies[0]["response_format"]["type"] == "json_schema"
    assert bodies[0]["response_format"]["json_schema"]["schema"] == sent[0]
    assert list(dec["backend"]) == ["openai"] * 2
    assert json.loads(dec["parsed"].iloc[0]) == _satisfying(sent[0])
    assert dec["validation"].iloc[0] == "ok"
    # the prose reply is rejected by validation; the agent's deterministic rule decides instead
    assert dec["validation"].iloc[1].startswith("rejected: not JSON")
