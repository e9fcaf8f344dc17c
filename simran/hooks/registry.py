"""Finding an agent class from a scenario's ``kind``, safely (design §3).

``kind`` may be

1. a name registered with the :func:`register_agent` decorator;
2. a name of the ``simran.agents`` entry-point group (``setup.cfg`` of any installed package);
3. ``package.module:Class`` — a class in an importable module;
4. ``path/to/file.py:Class`` — a class in a Python file, the path relative to the scenario file's
   folder (no ``PYTHONPATH`` needed).

**A scenario that names code runs that code**, like a script: importing a module or a file
executes it. What simran guarantees is that nothing *else* is called: the object found must be a
class derived from :class:`simran.hooks.Agent`, and that is checked before anything is called.
A function (``os:system``), a module of the standard library (``this:s`` would print the Zen of
Python at import — standard-library modules are refused before import, since no agent lives
there), a missing module or file, a syntax error in the file, or a class that is not an agent is
a scenario error naming the file, the field and the reason (``simran`` exits with status 2).
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.metadata
import importlib.util
import sys
from pathlib import Path

from simran.errors import ScenarioError, SimranError
from simran.hooks.agent import Agent
from simran.hooks.context import AgentContext
from simran.hooks.decisions import DecisionLog
from simran.hooks.messages import MessageBus

ENTRY_POINT_GROUP = "simran.agents"
_REGISTRY: dict[str, type] = {}


class AgentLoadError(SimranError):
    """``kind`` does not name a loadable agent class; the message says why."""


def register_agent(kind: str):
    """Class decorator: make an :class:`~simran.hooks.Agent` subclass available as ``kind``."""
    def deco(cls):
        _check_agent_class(cls, kind)
        _REGISTRY[kind] = cls
        cls.kind = kind
        return cls
    return deco


def registered_kinds() -> list[str]:
    """Every kind known without importing user code: decorators so far and entry points."""
    eps = {ep.name for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP)}
    return sorted(set(_REGISTRY) | eps)


def _check_agent_class(obj, kind: str) -> type:
    if not isinstance(obj, type):
        raise AgentLoadError(f"{kind!r} is a {type(obj).__name__}, not an agent class "
                             "(a subclass of simran.hooks.Agent); nothing was called")
    if not issubclass(obj, Agent):
        raise AgentLoadError(f"{kind!r} is the class {obj.__module__}.{obj.__qualname__}, which "
                             "does not derive from simran.hooks.Agent; nothing was called")
    return obj


def _from_module(kind: str, mod: str, attr: str) -> type:
    top = mod.split(".")[0]
    if top in sys.stdlib_module_names or top == "simran":
        raise AgentLoadError(f"{kind!r}: {mod!r} is a module of the "
                             f"{'standard library' if top != 'simran' else 'simulator'}, "
                             "which holds no agents; refused before import")
    try:
        spec = importlib.util.find_spec(mod)
    except (ImportError, ValueError):
        spec = None
    if spec is None:
        raise AgentLoadError(f"{kind!r}: no module named {mod!r} is importable (installed "
                             "package, or give a file: 'path/to/file.py:Class')")
    try:
        module = importlib.import_module(mod)
    except SyntaxError as exc:
        raise AgentLoadError(f"{kind!r}: syntax error in {exc.filename} line {exc.lineno}: "
                             f"{exc.msg}") from None
    except Exception as exc:                       # the module's own code failed at import
        raise AgentLoadError(f"{kind!r}: importing {mod!r} failed: "
                             f"{type(exc).__name__}: {exc}") from None
    return _attr(module, kind, attr, mod)


def _attr(module, kind: str, attr: str, where: str) -> type:
    obj = module
    for part in attr.split("."):
        if not part.isidentifier() or not hasattr(obj, part):
            raise AgentLoadError(f"{kind!r}: {where} has no {attr!r}")
        obj = getattr(obj, part)
    return _check_agent_class(obj, kind)


def _from_file(kind: str, file: str, attr: str, base_dir: str | Path) -> type:
    path = Path(file)
    path = (path if path.is_absolute() else Path(base_dir) / path).resolve()
    if not path.is_file():
        raise AgentLoadError(f"{kind!r}: agent file {path} not found (relative paths are relative "
                             "to the scenario file's folder)")
    # one module per file path: the same file named twice is loaded once
    name = "simran_user_agent_" + hashlib.sha256(str(path).encode()).hexdigest()[:16]
    module = sys.modules.get(name)
    if module is None:
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise AgentLoadError(f"{kind!r}: {path} is not a Python file")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except SyntaxError as exc:
            del sys.modules[name]
            raise AgentLoadError(f"{kind!r}: syntax error in {path} line {exc.lineno}: "
                                 f"{exc.msg}") from None
        except Exception as exc:
            del sys.modules[name]
            raise AgentLoadError(f"{kind!r}: running {path} failed: "
                                 f"{type(exc).__name__}: {exc}") from None
    return _attr(module, kind, attr, str(path))


def agent_class(kind: str, base_dir: str | Path = ".") -> type:
    """The agent class ``kind`` names (see the module docstring for the four forms).

    Raises
    ------
    AgentLoadError
        Naming what was looked for and why it is not an agent class.
    """
    if kind in _REGISTRY:
        return _REGISTRY[kind]
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        if ep.name == kind:
            cls = _from_module(kind, ep.module, ep.attr)
            _REGISTRY[kind] = cls
            return cls
    if ":" in kind:
        target, _, attr = kind.rpartition(":")
        if not attr:
            raise AgentLoadError(f"{kind!r}: nothing after ':' (give 'module:Class')")
        if target.endswith(".py") or "/" in target or "\\" in target:
            return _from_file(kind, target, attr, base_dir)
        return _from_module(kind, target, attr)
    raise AgentLoadError(f"unknown agent kind {kind!r}; registered: "
                         f"{', '.join(registered_kinds()) or 'none'} (or give "
                         "'package.module:Class' or 'path/to/file.py:Class')")


def resolve_agent(scenario, index: int, cfg) -> type:
    """:func:`agent_class` for ``scenario.agents[index]``, as a :class:`ScenarioError` naming
    the scenario file, the field ``agents.<i>.kind`` and the reason."""
    try:
        return agent_class(cfg.kind, scenario.base_dir)
    except SimranError as exc:
        raise ScenarioError(scenario.source, [(f"agents.{index}.kind", str(exc))]) from None


def build_agents(sim, factory=None) -> tuple[list[Agent], DecisionLog, MessageBus]:
    """Build every agent of ``sim.scenario`` with its context (the kernel calls this).

    ``factory(ctx, cls)`` may replace the constructor call (tests use it to wrap agents).
    Every ``kind`` is resolved and checked (an agent class, see :mod:`simran.hooks.registry`)
    before any agent is constructed.
    """
    sc = sim.scenario
    classes = [resolve_agent(sc, i, cfg) for i, cfg in enumerate(sc.agents)]
    log = DecisionLog()
    sim.decision_log = log
    bus = MessageBus(sim.env)
    agents = []
    for i, (cls, cfg) in enumerate(zip(classes, sc.agents)):
        ctx = AgentContext(sim, cfg, bus, kind=getattr(cls, "kind", cls.__name__), index=i)
        try:
            agent = factory(ctx, cls) if factory is not None else cls(ctx)
        except (ValueError, TypeError, KeyError) as exc:   # a bad params value, usually
            i = sc.agents.index(cfg)
            reason = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
            raise ScenarioError(sc.source, [(f"agents.{i}.params", f"agent {cfg.name!r} "
                                             f"({cfg.kind}) cannot be built: "
                                             f"{type(exc).__name__}: {reason}")]) from exc
        ctx._agent = agent
        bus.register(agent)
        agents.append(agent)
    return agents, log, bus
