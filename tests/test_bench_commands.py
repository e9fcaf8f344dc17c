"""The benchmark's JSON verifier: what parses, and why everything else does not."""

from __future__ import annotations

import json

import pytest

from agents.bench.commands import (
    EXAMPLE_REPLY,
    Command,
    CommandError,
    dump_commands,
    parse_commands,
)

CELLS = ["A1", "A2", "B1"]
SLICES = ["video", "gaming"]


def parse(text):
    return parse_commands(text, CELLS, SLICES)


def test_every_action_parses_in_order():
    text = json.dumps({"commands": [
        {"action": "set_slice_quota", "cell": "A1", "slice": "video", "quota_pct": 50},
        {"action": "set_cell_power", "cell": "all", "power_dbm": 43.5},
        {"action": "set_cell_state", "cell": "B1", "state": "sleep"},
        {"action": "set_intent", "slice": "gaming", "target_mbps": 20},
        {"action": "set_kp", "slice": "video", "kp": 0.8}]})
    cmds = parse(text)
    assert [c.action for c in cmds] == ["set_slice_quota", "set_cell_power", "set_cell_state",
                                        "set_intent", "set_kp"]
    assert cmds[0] == Command("set_slice_quota", cell="A1", slice="video", value=50.0)
    assert cmds[1].cell == "all" and cmds[1].value == 43.5
    assert cmds[3].tolerance_mbps == 0.0
    # the canonical text round-trips
    assert parse(dump_commands(cmds)) == cmds


def test_example_reply_is_valid_for_a_network_with_its_names():
    assert len(parse_commands(EXAMPLE_REPLY, ["A1", "B2"], ["video"])) == 2


def test_one_code_fence_is_tolerated():
    fenced = '```json\n{"commands": [{"action": "set_kp", "slice": "video", "kp": 1}]}\n```'
    assert parse(fenced)[0].value == 1.0


def test_out_of_range_values_parse_the_guard_rails_clamp_them():
    cmd = parse('{"commands": [{"action": "set_slice_quota", "cell": "A1", "slice": "video", '
                '"quota_pct": 140}]}')[0]
    assert cmd.value == 140.0


@pytest.mark.parametrize("text, reason", [
    ("", "empty reply"),
    ("   \n", "empty reply"),
    ("Sure, I will switch off cell A2 for you.", "not JSON"),
    ('Here you go: {"commands": []}', "not JSON"),
    ('[{"action": "set_kp", "slice": "video", "kp": 1}]', "expected a JSON object"),
    ('{"command": "set_kp"}', "expected exactly the field 'commands'"),
    ('{"commands": [], "note": 1}', "expected exactly the field 'commands'"),
    ('{"commands": []}', "non-empty list"),
    ('{"commands": {"action": "set_kp"}}', "non-empty list"),
    ('{"commands": ["set_kp"]}', "commands[0] must be an object"),
    ('{"commands": [{"action": "reboot", "cell": "A1"}]}', "unknown action 'reboot'"),
    ('{"commands": [{"action": "set_cell_power", "cell": "A1"}]}',
     "missing field(s) ['power_dbm']"),
    ('{"commands": [{"action": "set_kp", "slice": "video", "kp": 1, "why": "x"}]}',
     "unexpected field(s) ['why']"),
    ('{"commands": [{"action": "set_cell_power", "cell": "Z9", "power_dbm": 40}]}',
     "unknown cell 'Z9'"),
    ('{"commands": [{"action": "set_cell_power", "cell": 3, "power_dbm": 40}]}',
     "must be a string"),
    ('{"commands": [{"action": "set_intent", "slice": "voice", "target_mbps": 4}]}',
     "unknown slice 'voice'"),
    ('{"commands": [{"action": "set_cell_state", "cell": "A1", "state": "dim"}]}',
     "unknown state 'dim'"),
    ('{"commands": [{"action": "set_cell_power", "cell": "A1", "power_dbm": "40"}]}',
     "must be a number"),
    ('{"commands": [{"action": "set_cell_power", "cell": "A1", "power_dbm": true}]}',
     "must be a number"),
    ('{"commands": [{"action": "set_cell_power", "cell": "A1", "power_dbm": NaN}]}',
     "NaN is not allowed"),
    ('{"commands": [{"action": "set_cell_power", "cell": "A1", "power_dbm": 1e999}]}',
     "must be finite"),
    ('{"commands": [{"action": "set_cell_power", "cell": "A1", "power_dbm": 40}', "not JSON"),
])
def test_unparsable_replies_say_why(text, reason):
    with pytest.raises(CommandError) as info:
        parse(text)
    assert reason in str(info.value)
