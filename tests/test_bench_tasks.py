"""The benchmark's task file: the shipped tasks and the errors a bad file gets."""

from __future__ import annotations

import re

import pytest

import simran
from agents.bench.checks import CHECKS, kp_trajectory, kp_window, plant_gain_mbps_per_pct
from agents.bench.tasks import LEVELS, TaskFileError, load_tasks

TASKS = "scenarios/bench/tasks.toml"


def test_shipped_task_file():
    suite = load_tasks(TASKS)
    assert len(suite.tasks) >= 9 and suite.max_iterations == 3
    assert suite.base.name == "base.toml" and suite.base.exists()
    levels = [t.level for t in suite.tasks]
    assert levels == sorted(levels, key=LEVELS.index)           # easy → multi-step
    assert {"easy", "medium", "hard", "multi-step"} <= set(levels)
    assert all(t.kind in CHECKS for t in suite.tasks)
    assert any(t.uses for t in suite.tasks)                       # one task needs an earlier one
    kinds = {t.kind for t in suite.tasks}
    assert {"kp_converges", "power_cut", "sleep_keep_min", "slice_intents",
            "least_loaded_off"} <= kinds


def test_base_scenario_check_run_is_short():
    scen = simran.load_scenario(load_tasks(TASKS).base)
    assert scen.simulation.duration_s <= 2.0


def test_kp_task_states_the_plant_gain_simran_uses():
    """The request quotes c; it must be the closed form's c from simran's link tables.

    CQI 9 (TS 38.214 Table 5.2.2.1-2: 16QAM, R = 616/1024, SE 2.4063) → the MCS of Table
    5.1.3.1-1 with the same Q_m and R (16QAM, 616/1024, SE 2.4063; OAI rule) → 12·14·2·1000·SE·
    (1 − 0.14) bit/s per PRB at 30 kHz; × 106 PRB / 100 = 0.737 Mbit/s per %.
    """
    suite = load_tasks(TASKS)
    task = next(t for t in suite.tasks if t.kind == "kp_converges")
    net = simran.load_scenario(suite.base).network.model_dump()
    c = plant_gain_mbps_per_pct(net, task.params["cqi"])
    quoted = float(re.search(r"carries\s+([0-9.]+)\s+Mbit/s", task.request).group(1))
    assert quoted == pytest.approx(c, abs=5e-4)
    assert c == pytest.approx(106 / 100 * 12 * 14 * 2000 * 2.4063 * 0.86 / 1e6, rel=1e-3)


def test_kp_closed_form():
    # e_k = (1 − Kp·c)^k e_0: Kp = 1/c is deadbeat; the window edges land exactly on the band
    c, y0, t, tol = 0.5, 10.0, 40.0, 1.0
    assert kp_trajectory(2.0, c, y0, t, 2) == [10.0, 40.0, 40.0]
    lo, hi = kp_window(c, y0, t, tol, 2)
    for kp in (lo, hi):
        assert abs(kp_trajectory(kp, c, y0, t, 2)[-1] - t) == pytest.approx(tol)
    assert abs(kp_trajectory(0.9 * lo, c, y0, t, 2)[-1] - t) > tol
    assert abs(kp_trajectory(4.1, c, y0, t, 4)[-1] - t) > 30.0      # Kp·c > 2: diverges


def _write(tmp_path, body: str):
    p = tmp_path / "tasks.toml"
    p.write_text('[bench]\nbase = "base.toml"\n' + body)
    return p


GOOD = '[[tasks]]\nid = "a"\nrequest = "r"\n[tasks.check]\nkind = "cell_power"\ncell = "A1"\n' \
       'power_dbm = 40.0\n'


@pytest.mark.parametrize("body, words", [
    ("", "no [[tasks]]"),
    ('[[tasks]]\nid = "a"\nrequest = "r"\n', "missing field 'check'"),
    ('[[tasks]]\nid = "a"\nrequest = "r"\n[tasks.check]\nkind = "ping"\n',
     "task a: check.kind 'ping'"),
    ('[[tasks]]\nid = "a"\nrequest = "r"\n[tasks.check]\nkind = "cell_power"\ncell = "A1"\n',
     "task a: check (cell_power) misses parameter(s) ['power_dbm']"),
    (GOOD + GOOD, "task a: duplicate id"),
    (GOOD.replace('request = "r"', 'request = "r"\nlevel = "trivial"'), "level 'trivial'"),
    (GOOD.replace('request = "r"', 'request = "r"\nuses = "zz"'), "uses 'zz'"),
    (GOOD.replace('cell = "A1"', 'cell = "@b"'), "'@b' does not name an earlier task"),
    (GOOD.replace('request = "r"', 'request = "r"\nprompt = "x"'), "unknown field(s) ['prompt']"),
    ("[[tasks]\n", "not valid TOML"),
])
def test_bad_task_files_name_file_task_and_field(tmp_path, body, words):
    path = _write(tmp_path, body)
    with pytest.raises(TaskFileError) as info:
        load_tasks(path)
    assert str(path) in str(info.value) and words in str(info.value)


def test_missing_base_and_missing_file(tmp_path):
    p = tmp_path / "t.toml"
    p.write_text(GOOD)
    with pytest.raises(TaskFileError, match=r"\[bench\] base"):
        load_tasks(p)
    with pytest.raises(TaskFileError, match="task file not found"):
        load_tasks(tmp_path / "none.toml")
