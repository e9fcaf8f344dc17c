"""Sweep files: a base scenario, fixed overrides and explicit axes → a frozen list of runs.

A sweep file (TOML) names a base scenario and an explicit ``[sweep]`` table (design §6, §8)::

    base = "../quickstart.toml"            # relative to the sweep file
    [set]                                  # fixed overrides of every run
    "simulation.duration_s" = 2
    [sweep]
    grid = { "slices.0.quota_pct" = [20, 40, 60], "ue_groups.0.count" = [5, 10] }  # cartesian
    zip = { "network.isd_m" = [200, 500], "network.scenario" = ["UMi", "UMa"] }     # lock-step
    replications = 3                       # or: seeds = [1, 2, 3]
    root_seed = 7                          # default: the base scenario's simulation.seed
    metrics = ["throughput_mbps_mean", "slice.*.throughput_mbps_mean"]  # empty = all

Only ``grid`` and ``zip`` entries are axes: a list-valued scenario parameter is never silently a
sweep axis (style.md, "What to avoid"). The runs are the cartesian product of the grid points
(first axis slowest), the zip rows and the replications (fastest).

**Several lock-step groups.** ``zip`` may also be a list of tables (``[[sweep.zip]]`` or
``zip = [{...}, {...}]``), each one lock-step group; the runs are then the cartesian product of
the grid points, the rows of every group (in file order) and the replications. A group may pair
``simulation.seed`` with its rows, e.g. route i with seed i::

    [[sweep.zip]]                          # group 0: a route and its seed
    "ue_groups.0.trace.ids" = [["veh_01"], ["veh_02"], ["veh_03"]]
    "simulation.seed" = [1, 2, 3]
    [[sweep.zip]]                          # group 1: a method = a name and its agents
    name = ["fast", "slow"]
    "agents.0.period_ms" = [5.0, 100.0]

(3 × 2 runs: route 1 fast, route 1 slow, route 2 fast, …). When a group sets the seed,
``seeds`` / ``replications`` must not be given (the seed would be set twice). A path may be in
one group or the grid only, and the lists of one group must have equal lengths. A single table
means exactly what it always meant: one group.

**Seeds.** ``seeds = [...]`` are used as they are (replication ``r`` is the index in the list).
``replications = N`` derives seed ``r`` from the root seed with numpy's ``SeedSequence``::

    seed_r = SeedSequence(root_seed, spawn_key=(r,)).generate_state(1, uint32)[0]

the RngRun-style replication scheme of style.md point 5: independent, well-mixed 32-bit seeds
that depend only on ``(root_seed, r)``, so adding replications never changes the existing ones.
The seed is written to ``simulation.seed`` of each run's scenario. A seed axis belongs in a zip
group (above), never in the grid (that is ``seeds = [...]``).

**Run identity.** Every run is resolved and validated before anything runs (a bad value fails
the sweep, not run 37 of 60). Its id is the first 12 hex digits of the SHA-256 of the canonical
JSON of the fully resolved scenario (which includes the seed): the same resolved scenario gets
the same id whatever the sweep file looked like, and any change gives a new id.

The runs are handed to an executor (:mod:`simran.campaigns.executors`) by a campaign
(:mod:`simran.campaigns.campaign`).
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from simran.errors import ScenarioError, SweepError
from simran.scenario import Scenario, apply_overrides, read_scenario_data, read_toml

SEED_PATH = "simulation.seed"
RUN_ID_LEN = 12
MAX_REPORTED = 8  # problems listed in one error before "… and N more"


# --------------------------------------------------------------------------------------------
# the sweep file


#: pre-flight limit on the number of runs of one sweep (``simran sweep --allow-large`` lifts it)
MAX_RUNS = 10_000


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class SweepTable(_Model):
    """The ``[sweep]`` table: axes, replications and the metrics to collect."""

    grid: dict[str, Any] = Field(default_factory=dict, description="cartesian axes: dotted "
                                 "scenario path → list of values")
    zip_: dict[str, Any] | list[dict[str, Any]] = Field(
        default_factory=dict, alias="zip", description="lock-step axes (equal lengths): dotted "
        "path → list of values; or a list of such tables, one lock-step group each")
    seeds: list[int] | None = Field(None, min_length=1, description="explicit seeds, one "
                                    "replication each")
    replications: int | None = Field(None, ge=1, le=100_000, description="number of "
                                     "replications with SeedSequence-derived seeds")
    root_seed: int | None = Field(None, ge=0, description="root of the derived seeds (default: "
                                  "the base scenario's simulation.seed)")
    metrics: list[str] = Field(default_factory=list, description="summary metrics to collect "
                               "(fnmatch patterns); empty = all")


class SweepFile(_Model):
    """A sweep file: the base scenario, fixed overrides and the ``[sweep]`` table."""

    base: str = Field(description="base scenario file, relative to the sweep file")
    name: str = Field("", description="campaign name (free text)")
    description: str = Field("", description="free text")
    set_: dict[str, Any] = Field(default_factory=dict, alias="set", description="fixed "
                                 "overrides of every run (dotted paths; nested tables merge)")
    sweep: SweepTable = Field(default_factory=SweepTable)


@dataclass(frozen=True)
class Point:
    """One point of the sweep: the swept values, the replication and the seed (None = base's)."""

    params: dict[str, Any]
    replication: int = 0
    seed: int | None = None


@dataclass(frozen=True)
class RunSpec:
    """A fully resolved, validated run: what a worker needs (picklable)."""

    run_id: str
    params: dict[str, Any]
    replication: int
    seed: int
    scenario: Scenario = field(repr=False)


@dataclass(frozen=True)
class Sweep:
    """A loaded sweep file (validated syntax; :meth:`plan` validates the runs)."""

    path: Path
    spec: SweepFile
    grid: dict[str, list]
    zips: list[dict[str, list]]  # the lock-step groups, in file order
    fixed: dict[str, Any]

    @property
    def base_path(self) -> Path:
        return (self.path.parent / self.spec.base).resolve()

    @property
    def zip(self) -> dict[str, list]:
        """The axes of every zip group in one table (path → values)."""
        return {k: v for group in self.zips for k, v in group.items()}

    @property
    def axes(self) -> list[str]:
        """Swept parameter paths, in declaration order (grid, then the zip groups)."""
        return [*self.grid, *self.zip]

    @property
    def metrics(self) -> list[str]:
        return list(self.spec.sweep.metrics)

    def n_runs(self) -> int:
        """Number of runs the sweep plans, computed without expanding it (grid product × zip
        group lengths × seeds)."""
        n = 1
        for values in self.grid.values():
            n *= len(values)
        for group in self.zips:
            n *= len(next(iter(group.values()))) if group else 1
        sw = self.spec.sweep
        n *= len(sw.seeds) if sw.seeds is not None else (sw.replications or 1)
        return n

    def check_size(self, max_runs: int = MAX_RUNS) -> int:
        """Refuse a sweep of more than ``max_runs`` runs before it is expanded.

        Returns
        -------
        int
            The number of runs.

        Raises
        ------
        SweepError
            Naming the file, the number of runs per axis and the override (``--allow-large``).
        """
        n = self.n_runs()
        if n > max_runs:
            axes = ", ".join(f"{k} ({len(v)})" for k, v in {**self.grid, **self.zip}.items())
            raise SweepError(f"{self.path}: [sweep] plans {n:,} runs (axes: {axes or 'none'}; "
                             f"seeds: {n // max(1, self.n_runs_without_seeds())}), more than "
                             f"the pre-flight limit of {max_runs:,}; reduce the axes or pass "
                             "--allow-large")
        return n

    def n_runs_without_seeds(self) -> int:
        """Number of parameter points (:meth:`n_runs` over the seeds)."""
        sw = self.spec.sweep
        k = len(sw.seeds) if sw.seeds is not None else (sw.replications or 1)
        return self.n_runs() // k

    def points(self) -> list[Point]:
        """Expand the sweep (no validation against the scenario)."""
        return expand(self.grid, self.zips, self._seeds())

    def plan(self) -> list[RunSpec]:
        """Resolve and validate every run; raise :class:`SweepError` before anything runs."""
        return plan_runs(self)

    def _seeds(self) -> list[int] | None:
        sw = self.spec.sweep
        if sw.seeds is not None:
            return list(sw.seeds)
        if sw.replications is None:
            return None
        root = sw.root_seed if sw.root_seed is not None else _base_seed(self)
        return derive_seeds(root, sw.replications)


def load_sweep(path: str | Path) -> Sweep:
    """Read and check a sweep file (syntax, schema, axis shapes); errors name file and axis."""
    path = Path(path)
    try:
        data = read_toml(path)
    except ScenarioError as exc:
        raise SweepError(str(exc).replace("invalid scenario", "invalid sweep file")) from None
    try:
        spec = SweepFile.model_validate(data)
    except ValidationError as exc:
        lines = [f"  - {'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()]
        raise SweepError(f"{path}: invalid sweep file\n" + "\n".join(lines)) from None
    grid = _axes(path, "grid", spec.sweep.grid)
    zips = [_axes(path, kind, table) for kind, table in _zip_groups(path, spec.sweep.zip_)]
    fixed = flatten(spec.set_)
    _check_axes(path, spec, grid, zips, fixed)
    return Sweep(path=path, spec=spec, grid=grid, zips=zips, fixed=fixed)


def flatten(table: dict, prefix: str = "") -> dict[str, Any]:
    """Flatten nested TOML tables to dotted paths (``[set.simulation]`` ≡ ``"simulation.x"``)."""
    out: dict[str, Any] = {}
    for key, value in table.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            out.update(flatten(value, f"{path}."))
        else:
            out[path] = value
    return out


def _zip_groups(path: Path, zip_: dict | list[dict]) -> list[tuple[str, dict]]:
    """``(name, table)`` of each lock-step group: ``zip`` (one table) or ``zip[i]`` (a list)."""
    if isinstance(zip_, dict):
        return [("zip", zip_)] if zip_ else []
    for i, table in enumerate(zip_):
        if not table:
            raise SweepError(f"{path}: [sweep.zip[{i}]]: empty zip group (no axes)")
    return [(f"zip[{i}]", table) for i, table in enumerate(zip_)]


def _axes(path: Path, kind: str, table: dict) -> dict[str, list]:
    axes = flatten(table)
    for name, values in axes.items():
        if not isinstance(values, list):
            raise SweepError(f"{path}: [sweep.{kind}] axis '{name}': values must be a list, got "
                             f"{values!r}")
        if not values:
            raise SweepError(f"{path}: [sweep.{kind}] axis '{name}': empty axis (no values)")
    return axes


def _check_axes(path: Path, spec: SweepFile, grid: dict, zips: list[dict], fixed: dict) -> None:
    sw = spec.sweep
    names = [kind for kind, _ in _zip_groups(path, sw.zip_)]  # "zip" or "zip[i]"
    owner = {name: "grid" for name in grid}
    for kind, group in zip(names, zips):
        for name in group:
            if name in owner:
                raise SweepError(f"{path}: axis '{name}' is in both [sweep.{owner[name]}] and "
                                 f"[sweep.{kind}]")
            owner[name] = kind
    if fixed_too := sorted(set(owner) & set(fixed)):
        raise SweepError(f"{path}: axis '{fixed_too[0]}' is swept and also fixed in [set]")
    for kind, group in zip(names, zips):
        lengths = {name: len(v) for name, v in group.items()}
        if len(set(lengths.values())) > 1:
            raise SweepError(f"{path}: [sweep.{kind}] axes must have equal lengths, got "
                             + ", ".join(f"'{k}': {n}" for k, n in lengths.items()))
    if sw.seeds is not None and sw.replications is not None:
        raise SweepError(f"{path}: [sweep] give either seeds or replications, not both")
    if sw.root_seed is not None and sw.replications is None:
        raise SweepError(f"{path}: [sweep] root_seed needs replications = N")
    if sw.seeds is not None and len(set(sw.seeds)) != len(sw.seeds):
        raise SweepError(f"{path}: [sweep] seeds must be distinct, got {sw.seeds}")
    if SEED_PATH in grid:
        raise SweepError(f"{path}: axis '{SEED_PATH}': use [sweep] seeds = [...] or "
                         "replications = N instead of a seed axis in [sweep.grid] (or pair the "
                         "seeds with other axes in a zip group)")
    given = [k for k in ("seeds", "replications") if getattr(sw, k) is not None]
    if SEED_PATH in owner and given:
        raise SweepError(f"{path}: sweep.{owner[SEED_PATH]}.{SEED_PATH}: a zip group that sets "
                         f"the seed conflicts with [sweep] {given[0]} (the seed would be set "
                         "twice); drop one of them")
    if SEED_PATH in fixed and given:
        raise SweepError(f"{path}: [set] '{SEED_PATH}' conflicts with [sweep] seeds/replications")


# --------------------------------------------------------------------------------------------
# expansion, seeds, ids


def expand(grid: dict[str, list], zipped: dict[str, list] | Sequence[dict[str, list]],
           seeds: Sequence[int] | None = None) -> list[Point]:
    """Cartesian product of the grid (first axis slowest) × the rows of each zip group (in
    order) × seeds (fastest).

    ``zipped`` is one lock-step group (a table) or a sequence of them. A group's
    ``simulation.seed`` is the point's seed (then ``seeds`` is None: see :func:`load_sweep`).
    """
    groups = [zipped] if isinstance(zipped, dict) else list(zipped)
    grid_points = [dict(zip(grid, combo)) for combo in itertools.product(*grid.values())]
    group_rows = [[{k: v[i] for k, v in g.items()} for i in range(len(next(iter(g.values()))))]
                  if g else [{}] for g in groups]
    reps = list(enumerate(seeds)) if seeds is not None else [(0, None)]
    points = []
    for g in grid_points:
        for rows in itertools.product(*group_rows):
            params = {k: v for d in (g, *rows) for k, v in d.items()}
            for rep, seed in reps:
                points.append(Point(dict(params), rep, seed if seed is not None
                                    else params.get(SEED_PATH)))
    return points


def derive_seeds(root_seed: int, n: int) -> list[int]:
    """Seeds of replications ``0 … n-1``: ``SeedSequence(root_seed, spawn_key=(r,))``, 32 bit."""
    seeds = [int(np.random.SeedSequence(root_seed, spawn_key=(r,)).generate_state(
        1, dtype=np.uint32)[0]) for r in range(n)]
    if len(set(seeds)) != n:  # 32-bit birthday collision: ~n²/2³³, never in practice
        raise SweepError(f"derived seeds collide for root_seed={root_seed}, n={n}; "
                         "choose another root_seed")
    return seeds


def canonical_json(data: Any) -> str:
    """Sorted-key, compact JSON (as :meth:`Scenario.to_json`): equal data ⇒ equal text."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"))


def run_id(scenario: Scenario | dict) -> str:
    """Short SHA-256 of the canonical JSON of the fully resolved scenario (incl. its seed).

    The text hashed is what a results file stores as ``scenario_json``, so a run's id can be
    recomputed from its results file alone.
    """
    text = scenario.to_json() if isinstance(scenario, Scenario) else canonical_json(scenario)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:RUN_ID_LEN]


# --------------------------------------------------------------------------------------------
# planning = resolving and validating every run


def _base_data(sweep: Sweep) -> dict:
    if not sweep.base_path.is_file():
        raise SweepError(f"{sweep.path}: base = {sweep.spec.base!r}: scenario file "
                         f"{sweep.base_path} not found")
    try:
        data = read_scenario_data(sweep.base_path)   # follows the base's own base = chain
        Scenario.from_dict(data, source=str(sweep.base_path), base_dir=sweep.base_path.parent)
    except ScenarioError as exc:
        raise SweepError(f"{sweep.path}: base scenario is invalid:\n{exc}") from None
    return data


def _base_seed(sweep: Sweep) -> int:
    return _resolve(sweep, _base_data(sweep), {}).simulation.seed


def _resolve(sweep: Sweep, data: dict, overrides: dict) -> Scenario:
    src = str(sweep.base_path)
    merged = apply_overrides(data, {**sweep.fixed, **overrides}, source=src)
    return Scenario.from_dict(merged, source=src, base_dir=sweep.base_path.parent)


def plan_runs(sweep: Sweep) -> list[RunSpec]:
    """Resolve every point against the base scenario; every problem is reported at once."""
    data = _base_data(sweep)
    problems: dict[str, None] = {}  # ordered set of messages
    try:
        _resolve(sweep, data, {})
    except ScenarioError as exc:
        for loc, reason in exc.problems:
            problems[f"[set] {_owner(loc, sweep.fixed) or loc}: {reason}"] = None
        raise SweepError(_report(sweep, problems)) from None
    specs = [s for p in sweep.points() if (s := _plan_one(sweep, data, p, problems))]
    _check_duplicates(sweep, specs, problems)
    if problems:
        raise SweepError(_report(sweep, problems))
    return specs


def _plan_one(sweep: Sweep, data: dict, point: Point, problems: dict) -> RunSpec | None:
    overrides = dict(point.params)
    if point.seed is not None:
        overrides[SEED_PATH] = point.seed
    try:
        scn = _resolve(sweep, data, overrides)
    except ScenarioError as exc:
        for loc, reason in exc.problems:
            problems[_attribute(loc, reason, point)] = None
        return None
    return RunSpec(run_id(scn), point.params, point.replication, scn.simulation.seed, scn)


def _attribute(loc: str, reason: str, point: Point) -> str:
    axis = _owner(loc, point.params)
    if axis is not None:
        return f"axis '{axis}' = {point.params[axis]!r}: {loc}: {reason}"
    where = ", ".join(f"{k}={v!r}" for k, v in point.params.items()) or "the base point"
    return f"run with {where}: {loc or '<root>'}: {reason}"


def _owner(loc: str, params: dict) -> str | None:
    """The override path that ``loc`` (a validation error's field path) lies under, if any."""
    inside = [p for p in params if loc == p or loc.startswith(p + ".")]
    if inside:
        return inside[0]
    below = [p for p in params if loc and p.startswith(loc + ".")]
    return below[0] if len(below) == 1 else None  # a model check of the axis' own table


def _check_duplicates(sweep: Sweep, specs: list[RunSpec], problems: dict) -> None:
    seen: dict[str, RunSpec] = {}
    for s in specs:
        if s.run_id in seen:
            a, b = seen[s.run_id], s
            problems[f"runs {a.params} (seed {a.seed}) and {b.params} (seed {b.seed}) resolve to "
                     "the same scenario (equal after validation)"] = None
        seen[s.run_id] = s


def _report(sweep: Sweep, problems: dict) -> str:
    lines = list(problems)
    more = len(lines) - MAX_REPORTED
    lines = lines[:MAX_REPORTED] + ([f"… and {more} more"] if more > 0 else [])
    return (f"{sweep.path}: sweep does not validate against base {sweep.base_path} "
            f"({len(problems)} problem(s))\n" + "\n".join(f"  - {x}" for x in lines))


__all__ = ["Point", "RunSpec", "Sweep", "SweepFile", "canonical_json", "derive_seeds", "expand",
           "load_sweep", "plan_runs", "run_id"]
