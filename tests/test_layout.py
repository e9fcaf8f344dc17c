"""The house rules of the layout (AGENTS.md), checked on the source: no import cycle in `simran/`
or `agents/`, `simran/` never imports `agents/`, no module much over 450 lines."""

from __future__ import annotations

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MAX_LINES = 460          # "no module over ~450 lines" (issue 10), with a little slack


def modules() -> dict[str, Path]:
    out = {}
    for pkg in ("simran", "agents"):
        for p in (REPO / pkg).rglob("*.py"):
            name = ".".join(p.relative_to(REPO).with_suffix("").parts)
            out[name.removesuffix(".__init__")] = p
    return out


def import_graph() -> dict[str, set[str]]:
    """Module → modules of this repo it imports (lazy imports inside functions included)."""
    mods = modules()
    graph = {m: set() for m in mods}
    for m, p in mods.items():
        for node in ast.walk(ast.parse(p.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                for a in node.names:
                    full = f"{node.module}.{a.name}"
                    if full in mods:
                        graph[m].add(full)
                    elif node.module in mods:
                        graph[m].add(node.module)
            elif isinstance(node, ast.Import):
                graph[m].update(a.name for a in node.names if a.name in mods)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in graph:
        if v not in index:
            visit(v)
    return out


def test_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_cycle():
    assert cycles(import_graph()) == []


def test_simran_never_imports_agents():
    bad = [(m, t) for m, ts in import_graph().items() if m.startswith("simran")
           for t in ts if t.startswith("agents")]
    assert bad == []


def test_no_module_much_over_450_lines():
    big = {m: n for m, p in modules().items()
           if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert big == {}, big


def test_agents_never_reach_into_the_kernel():
    """Agents use the AgentContext API, never its private kernel reference (``ctx._sim``)."""
    bad = [f"{p.relative_to(REPO)}:{i}" for p in (REPO / "agents").rglob("*.py")
           for i, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1)
           if "._sim" in line or '"_sim"' in line]
    assert bad == []
