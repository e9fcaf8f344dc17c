"""Several lock-step groups in one sweep (``[[sweep.zip]]``): expansion order, seeds paired with
axis values, backward compatibility of a single ``zip`` table, the errors, and the Type I sweep
file resolving to the evaluate command's scenarios."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import TINY_SWEEP_BASE, write_sweep

from simran.campaigns.sweep import Point, derive_seeds, expand, load_sweep, run_id
from simran.errors import SweepError
from simran.scenario import Scenario

ROOT = Path(__file__).resolve().parents[1]

BASE = TINY_SWEEP_BASE


write = write_sweep


TWO_GROUPS = """
    base = "base.toml"
    [sweep]
    grid = { "network.rings" = [0, 1] }
    [[sweep.zip]]
    "ue_groups.0.count" = [2, 3, 4]
    "simulation.seed" = [21, 22, 23]
    [[sweep.zip]]
    "slices.0.quota_pct" = [30, 50]
    "slices.1.quota_pct" = [70, 50]
"""


# ------------------------------------------------------------------------------------------
# expansion


def test_expand_two_groups_order():
    grid = {"g": [1, 2]}
    groups = [{"a": ["x", "y", "z"], "s": [7, 8, 9]}, {"b": [10, 20], "c": [0.1, 0.2]}]
    pts = expand(grid, groups)
    # grid slowest, then group 0's rows, then group 1's rows (fastest); a group's seed is the seed
    expected = [Point({"g": g, "a": a, "s": s, "b": b, "c": c}, 0, None)
                for g in (1, 2) for a, s in zip("xyz", (7, 8, 9))
                for b, c in ((10, 0.1), (20, 0.2))]
    assert pts == expected
    seeded = expand({}, [{"simulation.seed": [5, 6]}, {"b": [1, 2]}])
    assert [(p.params, p.seed) for p in seeded] == [
        ({"simulation.seed": 5, "b": 1}, 5), ({"simulation.seed": 5, "b": 2}, 5),
        ({"simulation.seed": 6, "b": 1}, 6), ({"simulation.seed": 6, "b": 2}, 6)]
    # one table and a list holding that one table expand alike
    one = {"a": [1, 2], "b": [3, 4]}
    assert expand(grid, one, [7, 8]) == expand(grid, [one], [7, 8])


def test_two_zip_groups_times_grid_runs_order_and_seeds(tmp_path):
    sw = load_sweep(write(tmp_path, TWO_GROUPS))
    assert sw.axes == ["network.rings", "ue_groups.0.count", "simulation.seed",
                      "slices.0.quota_pct", "slices.1.quota_pct"]
    assert len(sw.zips) == 2
    specs = sw.plan()
    expected = [(rings, count, seed, q0, q1)
                for rings in (0, 1)
                for count, seed in ((2, 21), (3, 22), (4, 23))
                for q0, q1 in ((30, 70), (50, 50))]
    assert len(specs) == 12
    got = [(s.scenario.network.rings, s.scenario.ue_groups[0].count, s.seed,
            s.scenario.slices[0].quota_pct, s.scenario.slices[1].quota_pct) for s in specs]
    assert got == expected
    assert [s.scenario.simulation.seed for s in specs] == [s.seed for s in specs]
    assert {s.replication for s in specs} == {0} and len({s.run_id for s in specs}) == 12


def test_inline_list_of_tables_is_the_same_sweep(tmp_path):
    a = load_sweep(write(tmp_path, TWO_GROUPS)).plan()
    b = load_sweep(write(tmp_path, """
        base = "base.toml"
        [sweep]
        grid = { "network.rings" = [0, 1] }
        zip = [{ "ue_groups.0.count" = [2, 3, 4], "simulation.seed" = [21, 22, 23] },
               { slices = { 0 = { quota_pct = [30.0, 50.0] }, 1 = { quota_pct = [70, 50] } } }]
    """, name="inline.toml")).plan()
    assert [s.run_id for s in a] == [s.run_id for s in b]


def test_groups_combine_with_replications(tmp_path):
    sw = load_sweep(write(tmp_path, """
        base = "base.toml"
        [sweep]
        replications = 2
        root_seed = 5
        [[sweep.zip]]
        "slices.0.quota_pct" = [30, 50]
        "slices.1.quota_pct" = [70, 50]
        [[sweep.zip]]
        "ue_groups.0.count" = [2, 3]
    """))
    specs = sw.plan()
    assert [(s.params["slices.0.quota_pct"], s.params["ue_groups.0.count"], s.replication)
            for s in specs] == [(q, c, r) for q in (30, 50) for c in (2, 3) for r in (0, 1)]
    assert [s.seed for s in specs] == derive_seeds(5, 2) * 4


# ------------------------------------------------------------------------------------------
# backward compatibility: one zip table means what it meant


def test_single_zip_table_run_ids_unchanged(tmp_path):
    one = load_sweep(write(tmp_path, """
        base = "base.toml"
        [sweep]
        grid = { "network.rings" = [0, 1] }
        zip = { "slices.0.quota_pct" = [30, 50], "slices.1.quota_pct" = [70, 50] }
        seeds = [11, 12]
    """, name="one.toml"))
    listed = load_sweep(write(tmp_path, """
        base = "base.toml"
        [sweep]
        grid = { "network.rings" = [0, 1] }
        seeds = [11, 12]
        [[sweep.zip]]
        "slices.0.quota_pct" = [30, 50]
        "slices.1.quota_pct" = [70, 50]
    """, name="listed.toml"))
    assert one.zips == listed.zips and one.zip == listed.zip and one.axes == listed.axes
    a, b = one.plan(), listed.plan()
    assert [(s.run_id, s.params, s.replication, s.seed) for s in a] == \
        [(s.run_id, s.params, s.replication, s.seed) for s in b]
    # independent oracle: each run id is the hash of the base scenario with that run's overrides
    from simran.scenario import load_scenario

    oracle = [run_id(load_scenario(tmp_path / "base.toml", {
        "network.rings": rings, "slices.0.quota_pct": q0, "slices.1.quota_pct": q1,
        "simulation.seed": seed}))
        for rings in (0, 1) for q0, q1 in ((30, 70), (50, 50)) for seed in (11, 12)]
    assert [s.run_id for s in a] == oracle


def test_existing_sweep_files_keep_their_shape():
    # the committed single-table sweep files still load as one group (or none)
    for name in ("quota_vs_load.toml", "replay_traces.toml"):
        sw = load_sweep(ROOT / "scenarios" / "sweeps" / name)
        assert len(sw.zips) <= 1 and len(sw.plan()) == len(sw.points())


# ------------------------------------------------------------------------------------------
# errors


@pytest.mark.parametrize("body, words", [
    ('[sweep]\nreplications = 2\n[[sweep.zip]]\n"simulation.seed" = [1, 2]\n'
     '"network.rings" = [0, 1]',
     ["sweep.toml", "sweep.zip[0].simulation.seed", "replications", "twice"]),
    ('[sweep]\nseeds = [4, 5]\n[[sweep.zip]]\n"network.rings" = [0, 1]\n'
     '[[sweep.zip]]\n"simulation.seed" = [1, 2]\n"ue_groups.0.count" = [2, 3]',
     ["sweep.toml", "sweep.zip[1].simulation.seed", "seeds", "twice"]),
    ('[sweep]\nreplications = 2\nzip = { "simulation.seed" = [1, 2] }',
     ["sweep.toml", "sweep.zip.simulation.seed", "replications"]),
    ('[[sweep.zip]]\n"network.rings" = [0, 1]\n[[sweep.zip]]\n"network.rings" = [0, 1]',
     ["sweep.toml", "axis 'network.rings'", "[sweep.zip[0]]", "[sweep.zip[1]]"]),
    ('[sweep]\ngrid = { "network.rings" = [0, 1] }\n[[sweep.zip]]\n"ue_groups.0.count" = [2]\n'
     '[[sweep.zip]]\n"network.rings" = [0, 1]',
     ["sweep.toml", "axis 'network.rings'", "[sweep.grid]", "[sweep.zip[1]]"]),
    ('[[sweep.zip]]\n"network.rings" = [0, 1]\n[[sweep.zip]]\n'
     '"ue_groups.0.count" = [2, 3, 4]\n"simulation.seed" = [1, 2]',
     ["sweep.toml", "[sweep.zip[1]]", "equal lengths", "'ue_groups.0.count': 3",
      "'simulation.seed': 2"]),
    ('[sweep]\nzip = [{ "network.rings" = [0, 1] }, {}]',
     ["sweep.toml", "[sweep.zip[1]]", "empty zip group"]),
    ('[[sweep.zip]]\n"network.rings" = 1',
     ["sweep.toml", "[sweep.zip[0]] axis 'network.rings'", "must be a list"]),
    ('[set]\n"simulation.seed" = 4\n[[sweep.zip]]\n"simulation.seed" = [1, 2]',
     ["sweep.toml", "'simulation.seed'", "fixed in [set]"]),
    ('[sweep]\ngrid = { "simulation.seed" = [1, 2] }', ["sweep.toml", "seeds = [...]"]),
])
def test_bad_group_files(tmp_path, body, words):
    path = write(tmp_path, f'base = "base.toml"\n{body}\n')
    with pytest.raises(SweepError) as err:
        load_sweep(path)
    for w in words:
        assert w in str(err.value), (w, str(err.value))


# ------------------------------------------------------------------------------------------
# the Type I sweep file pairs route i with the evaluate command's seed


def test_type1_sweep_file_resolves_to_the_evaluate_scenarios():
    import dataclasses

    from agents.symbiotic.evaluate import BASE as T1_BASE
    from agents.symbiotic.evaluate import route_seed, scenario_data, tasks

    traces = ROOT / "datasets" / "synthetic_78.h5"
    sw = load_sweep(ROOT / "scenarios" / "sweeps" / "type1_methods_routes.toml")
    routes_group, methods_group = sw.zips
    routes = [ids[0] for ids in routes_group["ue_groups.0.trace.ids"]]
    # every route of the file carries the evaluate command's seed (header: --seed 1)
    assert routes_group["simulation.seed"] == [route_seed(traces, r, 1) for r in routes]
    assert "simulation.seed" not in sw.fixed and sw.spec.sweep.replications is None

    # 2 routes × 1 method: cut the groups down and resolve
    method = "qlearning"
    m = methods_group["name"].index(method)
    small = dataclasses.replace(sw, zips=[
        {k: v[1:3] for k, v in routes_group.items()},
        {k: v[m:m + 1] for k, v in methods_group.items()}])
    specs = small.plan()
    assert [s.params["ue_groups.0.trace.ids"] for s in specs] == [[routes[1]], [routes[2]]]

    duration_s = sw.fixed["simulation.duration_s"]
    for spec, task in zip(specs, tasks(traces, [method], routes[1:3], duration_s, "mid", 1)):
        assert spec.seed == task["seed"] == route_seed(traces, task["route"], 1)
        data = scenario_data(method, str(traces), task["route"], task["duration_s"],
                             task["offset_s"], task["seed"])
        ev = Scenario.from_dict(data, source=method, base_dir=T1_BASE.parent)
        # both write the trace file relative to the base scenario's folder: the same scenario,
        # the same run id, whichever command ran it
        a, b = ev.to_dict(), spec.scenario.to_dict()
        assert a == b
        assert run_id(a) == run_id(b) == spec.run_id
        assert (b["simulation"]["seed"], b["ue_groups"][0]["trace"]["ids"], b["agents"]) == \
            (task["seed"], [task["route"]], a["agents"])
