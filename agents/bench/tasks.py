"""The benchmark's task file: requests in plain language with a KPI assertion each.

A task file (``scenarios/bench/tasks.toml``) names a base scenario and lists the tasks in the
order they are asked — the chat history is kept from one task to the next, so a later task may
rely on an earlier answer::

    [bench]
    base = "base.toml"            # relative to the task file
    overrides = []                # --set style overrides of the base scenario
    max_iterations = 3

    [[tasks]]
    id = "t1"
    level = "easy"                # easy | medium | hard | multi-step
    request = "Set the transmit power of cell B2 to 40 dBm."
    setup = []                    # commands applied before the model's (the task's start state)
    uses = ""                     # id of an earlier task this one depends on (documentation)
    [tasks.check]
    kind = "cell_power"           # one of agents.bench.checks.CHECKS
    cell = "B2"
    power_dbm = 40.0

A parameter or setup cell written ``"@t3"`` means "the cell task t3 is about" (for
``least_loaded_off`` the least-loaded cell of its site, otherwise its ``cell`` parameter); it is
resolved once the base network is known. A bad file raises :class:`TaskFileError` naming the
file, the task and the field.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from agents.bench.checks import CHECKS
from agents.bench.commands import Command, CommandError, parse_commands
from agents.bench.network import NetworkView
from simran.errors import SimranError

LEVELS = ("easy", "medium", "hard", "multi-step")


class TaskFileError(SimranError, ValueError):
    """A task file that cannot be used; the message names file, task and field."""


@dataclass
class Task:
    """One task as written in the file (references unresolved).

    Attributes
    ----------
    id, level, request : str
        Identifier, difficulty and the request shown to the model.
    kind : str
        Check kind (:data:`agents.bench.checks.CHECKS`).
    params : dict
        Check parameters.
    setup : list of dict
        Commands (reply format) applied before the model's.
    uses : str
        Earlier task this one depends on ("" if none).
    """

    id: str
    level: str
    request: str
    kind: str
    params: dict
    setup: list[dict] = field(default_factory=list)
    uses: str = ""


@dataclass
class ResolvedTask:
    """A task with ``@`` references replaced and setup commands validated against the network."""

    task: Task
    params: dict
    setup: list[Command]

    @property
    def id(self) -> str:
        return self.task.id


@dataclass
class TaskSuite:
    """A loaded task file.

    Attributes
    ----------
    path : pathlib.Path
        The task file.
    base : pathlib.Path
        Base scenario file.
    overrides : list of str
        Overrides of the base scenario.
    max_iterations : int
        Iterations per task (papers/002: 3).
    tasks : list of Task
        In the order asked.
    """

    path: Path
    base: Path
    overrides: list[str]
    max_iterations: int
    tasks: list[Task]

    def target_cell(self, task_id: str, view: NetworkView) -> str:
        """The cell task ``task_id`` is about (see module docstring)."""
        task = next(t for t in self.tasks if t.id == task_id)
        if task.kind == "least_loaded_off":
            return view.least_loaded(task.params["site"])
        if "cell" in task.params:
            return self._ref(task.params["cell"], view)
        raise TaskFileError(f"{self.path}: task {task_id} names no cell that '@{task_id}' could "
                            "refer to")

    def _ref(self, value, view: NetworkView):
        if isinstance(value, str) and value.startswith("@"):
            return self.target_cell(value[1:], view)
        return value

    def resolve(self, task: Task, view: NetworkView) -> ResolvedTask:
        """Replace ``@`` references and validate the setup commands against the network."""
        params = {k: self._ref(v, view) for k, v in task.params.items()}
        setup = [{k: self._ref(v, view) for k, v in c.items()} for c in task.setup]
        try:
            cmds = parse_commands(json.dumps({"commands": setup}), view.names, view.slices) \
                if setup else []
        except CommandError as exc:
            raise TaskFileError(f"{self.path}: task {task.id}: setup: {exc}") from None
        for key in ("cell",):
            if key in params and params[key] not in view.names:
                raise TaskFileError(f"{self.path}: task {task.id}: check.{key}: unknown cell "
                                    f"{params[key]!r} (cells: {', '.join(view.names)})")
        return ResolvedTask(task, params, cmds)


def _task(raw: dict, i: int, path: Path, ids: set[str]) -> Task:
    where = f"{path}: tasks[{i}]"
    for key in ("id", "request", "check"):
        if key not in raw:
            raise TaskFileError(f"{where}: missing field {key!r}")
    extra = set(raw) - {"id", "level", "request", "check", "setup", "uses"}
    if extra:
        raise TaskFileError(f"{where} ({raw['id']}): unknown field(s) {sorted(extra)}")
    tid, level = str(raw["id"]), raw.get("level", "easy")
    where = f"{path}: task {tid}"
    if tid in ids:
        raise TaskFileError(f"{where}: duplicate id")
    if level not in LEVELS:
        raise TaskFileError(f"{where}: level {level!r} not one of {LEVELS}")
    check = dict(raw["check"])
    kind = check.pop("kind", None)
    if kind not in CHECKS:
        raise TaskFileError(f"{where}: check.kind {kind!r} not one of {sorted(CHECKS)}")
    missing = [k for k in CHECKS[kind][1] if k not in check]
    if missing:
        raise TaskFileError(f"{where}: check ({kind}) misses parameter(s) {missing}")
    uses = str(raw.get("uses", ""))
    if uses and uses not in ids:
        raise TaskFileError(f"{where}: uses {uses!r}, which is not an earlier task")
    refs = [v[1:] for v in list(check.values()) + [c.get("cell") for c in raw.get("setup", [])]
            if isinstance(v, str) and v.startswith("@")]
    for ref in refs:
        if ref not in ids:
            raise TaskFileError(f"{where}: '@{ref}' does not name an earlier task")
    return Task(id=tid, level=level, request=str(raw["request"]).strip(), kind=kind,
                params=check, setup=list(raw.get("setup", [])), uses=uses)


def load_tasks(path: str | Path) -> TaskSuite:
    """Load and check a task file (see module docstring).

    Raises
    ------
    TaskFileError
        Missing file, TOML syntax error, unknown check kind, missing parameter, duplicate id,
        a reference to a task that is not earlier in the file.
    """
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise TaskFileError(f"{path}: task file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise TaskFileError(f"{path}: not valid TOML: {exc}") from None
    bench = data.get("bench", {})
    if "base" not in bench:
        raise TaskFileError(f"{path}: [bench] base (the base scenario file) is missing")
    tasks: list[Task] = []
    for i, raw in enumerate(data.get("tasks", [])):
        tasks.append(_task(raw, i, path, {t.id for t in tasks}))
    if not tasks:
        raise TaskFileError(f"{path}: no [[tasks]]")
    max_it = bench.get("max_iterations", 3)
    if not isinstance(max_it, int) or max_it < 1:
        raise TaskFileError(f"{path}: [bench] max_iterations must be an integer ≥ 1")
    return TaskSuite(path=path, base=path.parent / bench["base"],
                     overrides=list(bench.get("overrides", [])), max_iterations=max_it,
                     tasks=tasks)
