"""Property test of the scenario loader (issue 17): any TOML document either loads or raises
:class:`~simran.errors.ScenarioError` — never anything else (no KeyError, TypeError,
OverflowError, RecursionError…).

Documents are generated two ways: arbitrary TOML-like text (mostly syntax errors), and
structured documents — the valid tiny scenario of ``test_bad_input`` with fields replaced by
arbitrary TOML values, unknown keys or whole sections of the wrong type — which reach the schema
and the cross-field checks.
"""

from __future__ import annotations

import copy
import math
import tomllib

import pytest

hypothesis = pytest.importorskip("hypothesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from test_bad_input import BASE  # noqa: E402

from simran.errors import ScenarioError  # noqa: E402
from simran.scenario import Scenario, load_scenario  # noqa: E402

BASE_DOC = tomllib.loads(BASE)

# TOML values: scalars of every type (incl. inf/nan, huge ints, odd strings), arrays, tables
scalars = st.one_of(
    st.booleans(), st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12),
    st.sampled_from([0, -1, 1, 5, 7, 13, 1e300, -0.0, 0.0001, 100_000, "hex", "sites", "pf",
                     "cell_off", "set_slice_quota", "ollama:", "auto", "nosuch", ""]))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)),
    max_leaves=8)

# the field paths of the valid document, and of sections one may add
PATHS = [("name",), ("simulation", "duration_s"), ("simulation", "tick_ms"),
         ("simulation", "seed"), ("simulation", "mobility_period_ms"), ("network", "layout"),
         ("network", "rings"), ("network", "sectors"), ("network", "sites"),
         ("network", "bandwidth_mhz"), ("slices",), ("slices", 0, "quota_pct"),
         ("slices", 1, "name"), ("slices", 0, "policy"), ("ue_groups",),
         ("ue_groups", 0, "count"), ("ue_groups", 0, "slice"), ("ue_groups", 0, "mobility"),
         ("ue_groups", 0, "route"), ("output", "kpi_period_ms"), ("output", "ue_kpi_period_ms"),
         ("events",), ("agents",), ("output",), ("simulation",), ("nosuch",)]
EVENT = {"at_s": 0.01, "action": "cell_off", "cell": 0}
AGENT = {"name": "a", "kind": "demo_quota", "backend": "scripted", "period_ms": 20.0}


def _set(doc: dict, path: tuple, value) -> None:
    node = doc
    for key in path[:-1]:
        if isinstance(node, list):
            if not isinstance(key, int) or key >= len(node):
                return
        elif not isinstance(node, dict) or key not in node:
            return
        node = node[key]
    if isinstance(node, list) and isinstance(path[-1], int) and path[-1] < len(node):
        node[path[-1]] = value
    elif isinstance(node, dict):
        node[path[-1]] = value


@st.composite
def documents(draw) -> dict:
    doc = copy.deepcopy(BASE_DOC)
    if draw(st.booleans()):
        doc["events"] = [dict(EVENT)]
        for k in draw(st.lists(st.sampled_from(sorted(EVENT) + ["value", "slice"]),
                               max_size=2)):
            doc["events"][0][k] = draw(values)
    if draw(st.booleans()):
        doc["agents"] = [dict(AGENT)]
        for k in draw(st.lists(st.sampled_from(sorted(AGENT) + ["params", "latency", "loop"]),
                               max_size=2)):
            doc["agents"][0][k] = draw(values)
    for path in draw(st.lists(st.sampled_from(PATHS), max_size=4)):
        _set(doc, path, draw(values))
    return doc


def _only_scenario_errors(fn) -> None:
    try:
        fn()
    except ScenarioError as exc:
        assert str(exc).strip()


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(documents())
def test_any_document_loads_or_raises_scenario_error(doc):
    _only_scenario_errors(lambda: Scenario.from_dict(doc, source="doc.toml"))


@settings(max_examples=150, deadline=None, suppress_health_check=[
    HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.text(alphabet=st.sampled_from(list("[]{}=\"'.,#\n -_+:01234567890.einfa"
                                              "bcdxyzsulatiokmp_")), max_size=200))
def test_any_text_loads_or_raises_scenario_error(tmp_path, text):
    f = tmp_path / "h.toml"
    f.write_text(text)
    _only_scenario_errors(lambda: load_scenario(f))


@settings(max_examples=100, deadline=None, suppress_health_check=[
    HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(st.binary(max_size=200))
def test_any_bytes_load_or_raise_scenario_error(tmp_path, data):
    f = tmp_path / "b.toml"
    f.write_bytes(data)
    _only_scenario_errors(lambda: load_scenario(f))


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([".".join(map(str, p)) for p in PATHS]), values),
                max_size=3))
def test_any_override_loads_or_raises_scenario_error(overrides):
    from simran.scenario import apply_overrides

    def load():
        data = apply_overrides(BASE_DOC, dict(overrides), source="--set")
        Scenario.from_dict(data, source="doc.toml")

    _only_scenario_errors(load)


def test_the_strategies_reach_valid_documents():
    """Not vacuous: the base document is valid, and a finite change to it still loads."""
    s = Scenario.from_dict(copy.deepcopy(BASE_DOC), source="doc.toml")
    assert s.simulation.duration_s == 0.05 and not math.isinf(s.output.kpi_period_ms)
