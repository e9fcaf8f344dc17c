"""Safe agent loading: ``kind`` forms, and every bad ``kind`` is a scenario error (exit 2).

The object a ``kind`` names must be a subclass of :class:`simran.hooks.Agent`, checked before
anything is called; standard-library modules are refused before import.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

import simran
from simran.errors import ScenarioError

BASE = """
name = "loading"
[simulation]
duration_s = 0.05
[network]
layout = "hex"
rings = 0
sectors = 1
[[slices]]
name = "a"
quota_pct = 100
[[ue_groups]]
name = "u"
count = 2
slice = "a"
[[agents]]
name = "x"
kind = "{kind}"
loop = "near_rt"
period_ms = 10
latency = "fixed:0"
"""

GOOD_AGENT = textwrap.dedent("""
    from simran.control import SetSliceQuota
    from simran.hooks import Agent

    class Half(Agent):
        def decide(self, obs):
            return [SetSliceQuota(slice="a", quota_pct=50)]
""")


def write(tmp_path, kind, files=None):
    for name, text in (files or {}).items():
        p = tmp_path / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    sc = tmp_path / "scen" / "s.toml"
    sc.parent.mkdir(exist_ok=True)
    sc.write_text(BASE.format(kind=kind))
    return sc


def load_error(path) -> ScenarioError:
    with pytest.raises(ScenarioError) as ei:
        simran.Simulation(simran.load_scenario(path))
    return ei.value


def test_file_agent_relative_to_the_scenario_folder(tmp_path, monkeypatch):
    sc = write(tmp_path, "agents_here/half.py:Half", {"scen/agents_here/half.py": GOOD_AGENT})
    monkeypatch.chdir(tmp_path)          # not the scenario's folder: paths resolve against it
    sim = simran.Simulation(simran.load_scenario(sc))
    sim.run()
    assert sim.net.quota_pct[0, 0] == 50.0
    assert type(sim.agents[0]).__name__ == "Half"


def test_module_agent(tmp_path, monkeypatch):
    (tmp_path / "mypkg").mkdir()
    (tmp_path / "mypkg" / "__init__.py").write_text("")
    (tmp_path / "mypkg" / "mine.py").write_text(GOOD_AGENT)
    monkeypatch.syspath_prepend(str(tmp_path))
    sim = simran.Simulation(simran.load_scenario(write(tmp_path, "mypkg.mine:Half")))
    assert type(sim.agents[0]).__name__ == "Half"


def test_registered_and_entry_point_kinds():
    from simran.hooks import registered_kinds

    kinds = registered_kinds()
    assert {"demo_quota", "pcontrol", "kp_meta_tuner"} <= set(kinds)    # setup.cfg entry points


@pytest.mark.parametrize("kind, files, reason", [
    ("os:system", None, "standard library"),
    ("this:s", None, "standard library"),
    ("subprocess:run", None, "standard library"),
    ("simran.simulation:Simulation", None, "simulator"),
    ("nosuchmodule_xyz:Agent", None, "no module named 'nosuchmodule_xyz'"),
    ("nope.py:Half", None, "not found"),
    ("bad.py:Half", {"scen/bad.py": "class Half(:\n"}, "syntax error"),
    ("boom.py:Half", {"scen/boom.py": "raise RuntimeError('at import')\n"},
     "RuntimeError: at import"),
    ("fn.py:make", {"scen/fn.py": "def make(*a):\n    raise SystemExit('called!')\n"},
     "is a function, not an agent class"),
    ("cls.py:Thing", {"scen/cls.py": "class Thing:\n    def __init__(self, *a):\n"
                      "        raise SystemExit('called!')\n"}, "does not derive"),
    ("good.py:Nope", {"scen/good.py": GOOD_AGENT}, "has no 'Nope'"),
    ("good.py:", {"scen/good.py": GOOD_AGENT}, "nothing after ':'"),
    ("no_such_kind", None, "unknown agent kind 'no_such_kind'"),
])
def test_bad_kind_is_a_scenario_error(tmp_path, kind, files, reason, capfd):
    sc = write(tmp_path, kind, files)
    err = load_error(sc)
    assert err.source == str(sc)
    assert err.problems[0][0] == "agents.0.kind"
    assert reason in err.problems[0][1]
    out = capfd.readouterr()
    assert "Beautiful is better than ugly" not in out.out      # `this` was never imported


@pytest.mark.parametrize("kind", ["os:system", "boom.py:Half"])
def test_cli_validate_exits_2_without_traceback(tmp_path, kind):
    sc = write(tmp_path, kind, {"scen/boom.py": "raise RuntimeError('at import')\n"})
    p = subprocess.run([sys.executable, "-m", "simran", "validate", str(sc)], capture_output=True,
                       text=True, timeout=120)
    assert p.returncode == 2
    assert "Traceback" not in p.stderr
    assert str(sc) in p.stderr and "agents.0.kind" in p.stderr
