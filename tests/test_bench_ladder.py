"""The closed loop: ladder rungs, execution feedback, guard-rails, history, dead backends.

Canned backends answer with fixed texts so every rung can be reached on purpose; the checks run
on simran (2-s runs of the 9-cell base network, ~0.1 s each).
"""

from __future__ import annotations

import json

import pytest

from agents.bench.commands import parse_commands
from agents.bench.ladder import CANNOT_UNDERSTAND, LadderConfig, Session, window
from agents.bench.run import Bench
from agents.llm.base import BackendUnavailable, ChatReply
from agents.llm.openai_backend import OpenAIBackend
from agents.llm.openai_compat import OpenAICompatServer

TASKS = "scenarios/bench/tasks.toml"


class Canned:
    """A backend answering from a list (an exception in the list is raised); records prompts."""

    name = "canned"

    def __init__(self, texts, model="canned-1"):
        self.texts, self.model, self.calls = list(texts), model, []

    def chat(self, messages, schema=None, *, max_tokens=128, temperature=0.0):
        self.calls.append([dict(m) for m in messages])
        item = self.texts.pop(0) if self.texts else "no more replies"
        if isinstance(item, Exception):
            raise item
        return ChatReply(text=item, parsed=None, prompt_tokens=100, completion_tokens=10,
                         wall_s=0.5, backend=self.name, model=self.model)

    def describe(self):
        return f"canned {self.model}"


def cmds(*items) -> str:
    return json.dumps({"commands": list(items)})


POWER_B2_40 = cmds({"action": "set_cell_power", "cell": "B2", "power_dbm": 40})


@pytest.fixture(scope="module")
def bench(tmp_path_factory):
    return Bench(TASKS, tmp_path_factory.mktemp("bench"))


def session(bench, model, master=None, **cfg):
    return Session(model, master or Canned([]), bench.view, bench.executor, bench.scenario,
                   LadderConfig(**cfg))


def task(bench, tid):
    return bench.resolved[tid]


def last_user(call) -> str:
    return [m for m in call if m["role"] == "user"][-1]["content"]


def test_first_time_right(bench):
    model = Canned([POWER_B2_40])
    res = session(bench, model).run_task(task(bench, "t1"))
    assert res.success and res.iterations == 1
    assert not (res.format_requested or res.example_given or res.master_used)
    assert (res.tokens_in, res.tokens_out, res.wall_s) == (100, 10, 0.5)
    assert res.tokens_per_s == pytest.approx(20.0)
    assert model.calls[0][0]["role"] == "system" and "B2" in model.calls[0][0]["content"]
    assert last_user(model.calls[0]).startswith("Task t1: Set the transmit power")
    assert res.steps[0]["check_ok"] and res.steps[0]["verdicts"][0]["status"] == "accepted"


def test_full_ladder_prose_then_master(bench):
    model = Canned(["I would lower the power of B2.", "", '{"power": 40}'])
    master = Canned([POWER_B2_40], model="master-70b")
    res = session(bench, model, master).run_task(task(bench, "t1"))
    assert res.iterations == 3 and res.success
    assert res.format_requested and res.example_given and res.master_used
    assert res.master_parsed and res.master_helped
    assert last_user(model.calls[1]).startswith("I cannot understand your command (not JSON")
    assert "Example: {\"commands\"" in last_user(model.calls[2])
    # the master got only the last reply, not the conversation
    (mcall,) = master.calls
    assert len(mcall) == 2 and '{"power": 40}' in mcall[1]["content"]
    assert "lower the power" not in mcall[1]["content"]
    assert res.steps[1]["parse_error"] == "empty reply"
    assert res.steps[2]["master"]["check_ok"]
    assert res.master_tokens_out == 10 and res.tokens_out == 30


def test_master_that_fails_too(bench):
    res = session(bench, Canned(["no", "no", "no"]), Canned(["still prose"])).run_task(
        task(bench, "t1"))
    assert not res.success and res.master_used and not res.master_parsed
    assert not res.master_helped and "master reply unparsable" in res.message


def test_master_parsed_but_wrong_is_not_helped(bench):
    wrong = cmds({"action": "set_cell_power", "cell": "B2", "power_dbm": 30})
    res = session(bench, Canned(["no", "no", "no"]), Canned([wrong])).run_task(task(bench, "t1"))
    assert res.master_parsed and not res.master_helped and not res.success
    assert "B2 is on at 30 dBm" in res.message


def test_execution_error_is_fed_back_and_the_quota_140_never_reaches_the_network(bench):
    over = cmds({"action": "set_slice_quota", "cell": "C1", "slice": "gaming", "quota_pct": 140})
    fixed = cmds({"action": "set_slice_quota", "cell": "C1", "slice": "video", "quota_pct": 40},
                 {"action": "set_slice_quota", "cell": "C1", "slice": "gaming", "quota_pct": 60})
    model = Canned([over, fixed])
    res = session(bench, model).run_task(task(bench, "t5"))
    assert res.success and res.iterations == 2 and not res.format_requested
    first = res.steps[0]
    assert first["verdicts"][0]["status"] == "clamped"
    assert "quota 140 % outside [0, 100] %" in first["verdicts"][0]["reason"]
    assert "clamped to 40 %" in first["verdicts"][0]["reason"]       # video still holds 60 %
    feedback = last_user(model.calls[1])
    assert feedback.startswith("I have the following error: command 1 (set_slice_quota) "
                               "clamped") and feedback.endswith("Please try again.")
    assert "check failed: slice gaming in C1" in feedback
    # what ran on the network: the clamped quota, never 140 %
    ex = bench.executor.execute(bench.view, parse_commands(over, bench.view.names,
                                                           bench.view.slices))
    sl = ex.results.slice
    c1 = sl[(sl["cell"] == bench.view.index("C1")) & (sl["slice_name"] == "gaming")]
    assert set(c1["quota_pct"]) == {40.0} and sl["quota_pct"].max() <= 100.0


def test_action_on_a_cell_that_does_not_exist_is_unparsable(bench):
    ghost = cmds({"action": "set_cell_power", "cell": "D7", "power_dbm": 40})
    model = Canned([ghost, POWER_B2_40])
    res = session(bench, model).run_task(task(bench, "t1"))
    assert res.success and res.iterations == 2 and res.format_requested
    assert "unknown cell 'D7'" in res.steps[0]["parse_error"]
    assert "unknown cell 'D7'" in last_user(model.calls[1])
    assert CANNOT_UNDERSTAND.split("(")[0] in last_user(model.calls[1])


def test_wrong_shape_json_climbs_the_ladder(bench):
    shapes = ['[{"action": "set_cell_power"}]', '{"commands": "B2 to 40"}', '{"cell": "B2"}']
    res = session(bench, Canned(shapes), Canned(["nope"])).run_task(task(bench, "t1"))
    assert [("parse_error" in s) for s in res.steps] == [True, True, True]
    assert res.format_requested and res.example_given and res.master_used and not res.success


def test_at_most_max_iterations_and_no_feedback_after_the_last(bench):
    wrong = cmds({"action": "set_cell_power", "cell": "B2", "power_dbm": 41})
    model = Canned([wrong] * 5)
    res = session(bench, model, max_iterations=3).run_task(task(bench, "t1"))
    assert res.iterations == 3 and len(model.calls) == 3 and not res.success
    assert "feedback" in res.steps[1] and "feedback" not in res.steps[2]


def test_ladder_thresholds_are_configurable(bench):
    model = Canned(["prose"])
    master = Canned([POWER_B2_40])
    res = session(bench, model, master, master_at=1, max_iterations=1).run_task(task(bench, "t1"))
    assert res.success and res.master_used and not res.format_requested


def test_history_is_kept_across_tasks(bench):
    off = cmds({"action": "set_cell_state", "cell": "A2", "state": "off"})
    back = cmds({"action": "set_cell_state", "cell": "A2", "state": "on"},
                {"action": "set_cell_power", "cell": "A2", "power_dbm": 43})
    model = Canned([off, back])
    s = session(bench, model)
    results = s.run([task(bench, "t4"), task(bench, "t10")])
    assert [r.success for r in results] == [True, True]
    sent = model.calls[1]
    assert any("Task t4:" in m["content"] for m in sent)
    assert any(m["role"] == "assistant" and m["content"] == off for m in sent)


def test_history_window_keeps_the_current_task():
    hist = [{"role": "user", "content": "a" * 50}, {"role": "assistant", "content": "b" * 50},
            {"role": "user", "content": "c" * 10}, {"role": "assistant", "content": "d" * 10},
            {"role": "user", "content": "e" * 200}]
    assert window(hist, 4, None) == hist
    assert window(hist, 4, 100) == hist[4:]                 # over budget: current task only
    assert window(hist, 4, 230) == hist[2:]                 # starts at a user message
    assert window(hist, 4, 10_000) == hist


def test_a_backend_that_is_down_ends_the_run_quickly_with_reasons(bench):
    down = BackendUnavailable("openai m @ http://127.0.0.1:9/v1: connection refused")
    model = Canned([down] * 10)
    results = session(bench, model, Canned([down] * 10)).run(list(bench.resolved.values()))
    assert len(results) == len(bench.resolved) and not any(r.success for r in results)
    assert len(model.calls) == 3                           # abort_after_unavailable = 3
    assert "connection refused" in results[0].steps[0]["error"]
    assert results[-1].message.startswith("skipped: the backend did not answer")


def test_a_hanging_openai_server_times_out_and_the_run_completes(bench):
    with OpenAICompatServer(lambda m, s: POWER_B2_40, models=["m1"], mode="hang") as srv:
        model = OpenAIBackend("m1", base_url=srv.url, timeout_s=0.3)
        results = session(bench, model, model).run([task(bench, "t1"), task(bench, "t2")])
    assert [r.success for r in results] == [False, False]
    assert "no reply within 0.3 s" in results[0].steps[0]["error"]
    assert results[1].message.startswith("skipped")


def test_openai_backend_through_the_ladder(bench):
    replies = iter(["Lower B2 to 40 dBm.", POWER_B2_40])
    with OpenAICompatServer(lambda m, s: next(replies), models=["m1"]) as srv:
        model = OpenAIBackend("m1", base_url=srv.url, timeout_s=5)
        res = session(bench, model).run_task(task(bench, "t1"))
    assert res.success and res.iterations == 2 and res.format_requested
    assert res.tokens_out > 0 and res.steps[0]["backend"] == "openai"
