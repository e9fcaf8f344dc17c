"""The twin sandbox: generated code runs in a limited child process; hostile code is stopped and
the reason recorded (issue 13, part 4). Limits are ~1–2 s to keep these tests fast."""

import json
from pathlib import Path

import pytest

from agents.twin.sandbox import Limits, run_code

FAST = Limits(wall_s=6.0, cpu_s=1, memory_mb=1024, file_mb=4)
INPUT = {"a.csv": b"x\n1\n2\n"}


def run(code, limits=FAST, **kw):
    return run_code(code, INPUT, limits=limits, **kw)


def test_well_behaved_code_reads_its_input_and_returns_json():
    res = run("import json, pandas as pd\nd = pd.read_csv('a.csv')\n"
              "json.dump({'total': float(d.x.sum())}, open('result.json', 'w'))")
    assert res.ok, res.stderr
    assert res.result == {"total": 3.0}
    assert res.blocked == []


def test_infinite_loop_stopped_by_cpu_limit():
    # 1 s of CPU; the wall limit is generous so that a loaded machine still hits RLIMIT_CPU first
    res = run("while True:\n    pass\n", limits=Limits(wall_s=30.0, cpu_s=1))
    assert res.status == "cpu_limit", (res.status, res.reason)
    assert "RLIMIT_CPU" in res.reason


def test_sleeping_code_stopped_by_wall_clock():
    res = run("import time\ntime.sleep(60)\n", limits=Limits(wall_s=1.0, cpu_s=5))
    assert res.status == "timeout"
    assert res.wall_s < 5.0


def test_fork_loop_refused():
    res = run("import os\nwhile True:\n    os.fork()\n")
    assert res.status == "blocked"
    assert "os.fork" in res.reason


def test_fork_refusal_recorded_even_if_caught():
    # the code swallows the PermissionError and writes a result: still a refused run
    res = run("import os, json\ntry:\n    os.fork()\nexcept Exception:\n    pass\n"
              "json.dump({'x': 1}, open('result.json', 'w'))")
    assert res.status == "blocked" and "os.fork" in res.reason


def test_ten_gigabyte_allocation_stopped_by_memory_limit():
    res = run("import numpy as np\nx = np.ones(10 * 2**30 // 8)\n")
    assert res.status == "memory_limit"
    assert "RLIMIT_AS" in res.reason


def test_socket_to_localhost_refused():
    res = run("import socket\ns = socket.socket(socket.AF_INET, socket.SOCK_STREAM)\n"
              "s.connect(('127.0.0.1', 9))\n")
    assert res.status == "blocked"
    assert "socket" in res.reason


def test_subprocess_refused():
    res = run("import subprocess\nsubprocess.run(['true'])\n")
    assert res.status == "blocked" and "subprocess" in res.reason


def test_write_outside_the_sandbox_refused(tmp_path):
    target = tmp_path / "escaped.txt"
    res = run(f"open({str(target)!r}, 'w').write('x')\n")
    assert res.status == "blocked"
    assert "write outside the sandbox" in res.reason
    assert not target.exists()


def test_read_outside_the_task_inputs_refused():
    secret = Path(__file__).resolve()          # a file of the repository, not an input
    res = run(f"print(open({str(secret)!r}).read()[:20])\n")
    assert res.status == "blocked"
    assert "read outside the task inputs" in res.reason
    assert "import json" not in res.stdout


def test_simran_reachable_only_through_blocks():
    res = run("import simran\n")
    assert res.status == "exception"
    assert "expert blocks" in res.reason


def test_syntax_error_and_bad_results_are_classified():
    assert run("def f(:\n").status == "syntax_error"
    assert run("print('garbage ' * 10)\n").status == "no_result"
    nan = run("open('result.json', 'w').write('{\"sinr_db\": [NaN]}')\n")
    assert nan.status == "bad_result" and "NaN" in nan.reason
    assert run("open('result.json', 'w').write('{not json')\n").status == "bad_result"
    raised = run("raise KeyError('cell_31')\n")
    assert raised.status == "exception" and "KeyError" in raised.reason


def test_selected_blocks_importable_and_others_not():
    code = ("import json\nfrom blocks import associate_strongest\n"
            "try:\n    from blocks import sinr_db\n    other = 'imported'\n"
            "except ImportError:\n    other = 'refused'\n"
            "json.dump({'s': associate_strongest([[-80.0, -70.0]]).tolist(), 'other': other}, "
            "open('result.json', 'w'))\n")
    res = run(code, limits=Limits(wall_s=30, cpu_s=20), blocks=("associate_strongest",))
    assert res.ok, res.stderr
    assert res.result == {"s": [1], "other": "refused"}


def test_result_dict_is_json_serialisable():
    res = run("import sys\nprint('out')\nprint('err', file=sys.stderr)\n")
    d = json.loads(json.dumps(res.to_dict()))
    assert d["status"] == "no_result" and "out" in d["stdout_tail"]


@pytest.mark.parametrize("name", ["../x", ".hidden"])
def test_input_names_must_be_plain(name):
    with pytest.raises(ValueError):
        run_code("pass", {name: b""})
