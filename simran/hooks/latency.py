"""Latency models for agent decisions, charged in simulated time (design §3, step 3).

An agent's decide call runs synchronously in wall-clock time; the simulation then advances by a
latency *L* chosen by the agent's latency model, so the network keeps evolving while the agent
"thinks". A model is named by a spec string:

``measured``
    L = the wall-clock time the decide call took on this machine.
``measured*<factor>``
    L = wall time × factor, e.g. ``measured*0.25`` for hardware four times faster.
``fixed:<ms>``
    L = a constant, in milliseconds.
``profile:<model>``
    L ~ log-normal with median = the inference latency papers/004 reports for ``<model>``
    (``datasets/llm_latency_profiles.csv``: Table 4, near-RT Type I, per call; Table 7, non-RT
    Type II, per negotiation round). The paper reports means only, without spread, so the
    spread is an assumption: σ_ln = 0.1 (about ±10 % at one standard deviation), enough to
    de-synchronise agents without changing the reported order of magnitude. A model in both
    tables is picked by the agent's loop class (``loop="near_rt"`` or ``"non_rt"``).
``profile:<model>@<loop>``
    The same, from the table of ``<loop>`` whatever the agent's own loop class: a standalone
    LLM that sets PRBs itself sits in the ``rt`` loop (10 ms budget) but thinks as long as
    Table 4's per-call latency, ``profile:gpt-4o@near_rt``.
``tokens:<hardware>``
    L = prompt_tokens / prefill_tps + completion_tokens / decode_tps of a row of
    ``datasets/llm_hardware_profiles.csv``.

Datasets
--------
``llm_latency_profiles.csv`` has one row per (table, model, design) of papers/004 Table 4
(``loop=near_rt``; ``rmse_mbps``, ``iterations``, ``convergence_ms``) and Table 7
(``loop=non_rt``; ``mae_mbps``, ``rounds``, ``convergence_s``); both give ``latency_ms`` (the
"Inference" column: per call in Table 4, per negotiation round in Table 7, converted from s) and
``vram_gb``. ``design`` is ``symbiotic`` or ``standalone`` for LLM agents and ``tuned`` /
``untuned`` for the paper's non-LLM baselines (P-Control, Grad-Descent). ``approx`` lists the
fields the paper prints with "≈". Values are transcribed as printed, including Table 7's
21.0 GB for qwen2:72b standalone (41.0 GB for the symbiotic row). Within a table a model's
inference latency is the same for both designs, so ``profile:`` needs only model and loop.
``llm_hardware_profiles.csv`` (``hardware, prefill_tps, decode_tps, source, notes``) holds the
figure measured on the project machine by ``benchmarks/bench_llm.py`` and cited public ones.

Every sample is an integer number of microseconds ≥ 0 (the SimPy clock, ``simran.units``).
Only ``profile`` draws from the RNG (one normal draw per sample), so the other models leave the
agent's stream untouched. The datasets folder is ``<repo>/datasets``, overridable with
``$SIMRAN_DATASETS``. This module is pure numpy and imports no LLM package.
"""

from __future__ import annotations

import csv
import math
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from simran.errors import SimranError
from simran.units import US_PER_S, ms_to_us

LOOPS = ("rt", "near_rt", "non_rt")
DEFAULT_SIGMA_LN = 0.1
PROFILES_CSV = "llm_latency_profiles.csv"
HARDWARE_CSV = "llm_hardware_profiles.csv"
SPEC_FORMS = ("measured | measured*<factor> | fixed:<ms> | profile:<model>[@<loop>] | "
              "tokens:<hardware>")


class LatencySpecError(SimranError, ValueError):
    """A latency spec or latency dataset row is invalid (names the spec/file, row and reason)."""


def datasets_dir() -> Path:
    """``$SIMRAN_DATASETS`` if set, else ``<repo>/datasets`` next to the ``simran`` package."""
    env = os.environ.get("SIMRAN_DATASETS")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / "datasets"


def _float(path: Path, row: int, field: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise LatencySpecError(f"{path}: row {row}: {field}={text!r} is not a number") from None
    if not math.isfinite(value) or value < 0:
        raise LatencySpecError(f"{path}: row {row}: {field}={text!r} must be finite and >= 0")
    return value


_CSV_CACHE: dict[tuple, list[dict[str, str]]] = {}
"""Rows of a CSV file by (path, mtime, size): a scenario with 20 agents reads the profile tables
once, not 20 times (an edited file is read again)."""


def _read_csv(path: Path, required: tuple[str, ...]) -> list[dict[str, str]]:
    try:
        st = os.stat(path)
        key = (str(Path(path).resolve()), st.st_mtime_ns, st.st_size, required)
    except OSError:
        key = None
    if key is not None and key in _CSV_CACHE:
        return [dict(r) for r in _CSV_CACHE[key]]
    rows = _read_csv_uncached(path, required)
    if key is not None:
        _CSV_CACHE[key] = [dict(r) for r in rows]
    return rows


def _read_csv_uncached(path: Path, required: tuple[str, ...]) -> list[dict[str, str]]:
    try:
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            missing = [c for c in required if c not in (reader.fieldnames or [])]
            if missing:
                raise LatencySpecError(f"{path}: missing column(s) {missing}")
            return list(reader)
    except OSError as exc:
        raise LatencySpecError(f"{path}: cannot read: {exc.strerror}") from None


@dataclass(frozen=True)
class LatencyProfile:
    """One row of ``llm_latency_profiles.csv`` used for sampling."""

    model: str
    design: str
    loop: str
    latency_ms: float
    table: str
    source: str


def load_latency_profiles(path: str | Path | None = None) -> list[LatencyProfile]:
    """Read the per-model inference latencies reported by papers/004 (Tables 4 and 7)."""
    path = Path(path) if path is not None else datasets_dir() / PROFILES_CSV
    rows = _read_csv(path, ("table", "model", "design", "loop", "latency_ms", "source"))
    out = []
    for i, r in enumerate(rows, start=2):
        if r["loop"] not in LOOPS:
            raise LatencySpecError(f"{path}: row {i}: loop={r['loop']!r} not one of {LOOPS}")
        out.append(LatencyProfile(r["model"], r["design"], r["loop"],
                                  _float(path, i, "latency_ms", r["latency_ms"]), r["table"],
                                  r["source"]))
    return out


@dataclass(frozen=True)
class HardwareProfile:
    """One row of ``llm_hardware_profiles.csv``: token throughputs of a model on hardware."""

    hardware: str
    prefill_tps: float
    decode_tps: float
    source: str
    notes: str


def load_hardware_profiles(path: str | Path | None = None) -> dict[str, HardwareProfile]:
    """Read token-throughput profiles, keyed by ``hardware``."""
    path = Path(path) if path is not None else datasets_dir() / HARDWARE_CSV
    rows = _read_csv(path, ("hardware", "prefill_tps", "decode_tps", "source", "notes"))
    out = {}
    for i, r in enumerate(rows, start=2):
        prefill = _float(path, i, "prefill_tps", r["prefill_tps"])
        decode = _float(path, i, "decode_tps", r["decode_tps"])
        if prefill == 0 or decode == 0:
            raise LatencySpecError(f"{path}: row {i}: tokens per second must be > 0")
        out[r["hardware"]] = HardwareProfile(r["hardware"], prefill, decode, r["source"],
                                             r["notes"])
    return out


class LatencyModel:
    """Base class: ``sample_us`` returns the simulated latency of one decision.

    Attributes
    ----------
    spec : str
        The spec string this model was built from (recorded with each decision).
    """

    spec: str = ""

    def sample_us(self, rng: np.random.Generator, *, wall_s: float, prompt_tokens: int,
                  completion_tokens: int) -> int:
        """Latency of one decision in integer microseconds (>= 0).

        Parameters
        ----------
        rng : numpy.random.Generator
            The agent's stream (only ``profile`` draws from it).
        wall_s : float
            Wall-clock seconds the decide call took.
        prompt_tokens, completion_tokens : int
            Token counts of the LLM call (0 for non-LLM agents).
        """
        raise NotImplementedError

    def describe(self) -> str:
        """Human-readable description including the source of the figures."""
        return self.spec

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.spec!r})"


class MeasuredLatency(LatencyModel):
    """L = wall time × ``factor`` (1 = this machine)."""

    def __init__(self, factor: float = 1.0, spec: str = "measured"):
        self.factor = factor
        self.spec = spec

    def sample_us(self, rng, *, wall_s, prompt_tokens, completion_tokens) -> int:
        return max(0, round(max(0.0, wall_s) * self.factor * US_PER_S))

    def describe(self) -> str:
        return f"measured wall time × {self.factor:g}"


class FixedLatency(LatencyModel):
    """L = a constant."""

    def __init__(self, latency_us: int, spec: str):
        self.latency_us = int(latency_us)
        self.spec = spec

    def sample_us(self, rng, *, wall_s, prompt_tokens, completion_tokens) -> int:
        return self.latency_us

    def describe(self) -> str:
        return f"fixed {self.latency_us} µs"


class ProfileLatency(LatencyModel):
    """L ~ LogNormal(ln(median), σ_ln) around a reported per-call latency."""

    def __init__(self, profile: LatencyProfile, sigma_ln: float, spec: str):
        self.profile = profile
        self.median_us = ms_to_us(profile.latency_ms)
        self.sigma_ln = float(sigma_ln)
        self.spec = spec

    def sample_us(self, rng, *, wall_s, prompt_tokens, completion_tokens) -> int:
        z = rng.standard_normal()
        if self.median_us == 0:
            return 0
        return max(0, round(self.median_us * math.exp(self.sigma_ln * z)))

    def describe(self) -> str:
        p = self.profile
        return (f"{p.model} ({p.loop}): log-normal, median {p.latency_ms:g} ms, "
                f"σ_ln {self.sigma_ln:g} — {p.source}")


class TokensLatency(LatencyModel):
    """L = prompt_tokens / prefill_tps + completion_tokens / decode_tps."""

    def __init__(self, hardware: HardwareProfile, spec: str):
        self.hardware = hardware
        self.spec = spec

    def sample_us(self, rng, *, wall_s, prompt_tokens, completion_tokens) -> int:
        hw = self.hardware
        seconds = max(0, prompt_tokens) / hw.prefill_tps + max(0, completion_tokens) / hw.decode_tps
        return round(seconds * US_PER_S)

    def describe(self) -> str:
        hw = self.hardware
        return (f"tokens on {hw.hardware}: {hw.prefill_tps:g} prefill tok/s, "
                f"{hw.decode_tps:g} decode tok/s — {hw.source}")


def _bad(spec: str, why: str) -> LatencySpecError:
    return LatencySpecError(f"latency spec {spec!r}: {why}; valid forms: {SPEC_FORMS}")


def _number(spec: str, text: str, what: str, positive: bool) -> float:
    try:
        value = float(text)
    except ValueError:
        raise _bad(spec, f"{what} {text!r} is not a number") from None
    if not math.isfinite(value) or value < 0 or (positive and value == 0):
        raise _bad(spec, f"{what} must be finite and {'> 0' if positive else '>= 0'}")
    return value


def _pick_profile(spec: str, model: str, loop: str | None,
                  profiles: list[LatencyProfile]) -> LatencyProfile:
    rows = [p for p in profiles if p.model == model]
    if not rows:
        known = sorted({p.model for p in profiles})
        raise _bad(spec, f"unknown model {model!r}; known models: {', '.join(known)}")
    loops = sorted({p.loop for p in rows})
    if loop is None and len(loops) > 1:
        raise _bad(spec, f"{model} is profiled for {loops}; give the agent's loop class")
    chosen = [p for p in rows if loop is None or p.loop == loop]
    if not chosen:
        raise _bad(spec, f"{model} is profiled only for {loops} "
                         f"({', '.join(sorted({p.source for p in rows}))}), not for {loop}")
    if len({p.latency_ms for p in chosen}) > 1:
        raise _bad(spec, f"{model} has different latencies per design in one table")
    return chosen[0]


def parse_latency_spec(spec: str, *, loop: str | None = None,
                       sigma_ln: float = DEFAULT_SIGMA_LN,
                       datasets: str | Path | None = None) -> LatencyModel:
    """Build a :class:`LatencyModel` from a spec string.

    Parameters
    ----------
    spec : str
        One of ``measured``, ``measured*<factor>``, ``fixed:<ms>``, ``profile:<model>``,
        ``profile:<model>@<loop>``, ``tokens:<hardware>``.
    loop : {"rt", "near_rt", "non_rt"}, optional
        The agent's loop class; picks the table for ``profile:`` (near_rt → Table 4 per call,
        non_rt → Table 7 per negotiation round).
    sigma_ln : float
        Log-normal spread of ``profile:`` samples (default 0.1, see module docstring).
    datasets : path, optional
        Folder with the CSV files; default :func:`datasets_dir`.

    Raises
    ------
    LatencySpecError
        (a ``ValueError``) naming the spec, the reason and the valid forms.
    """
    text = spec.strip() if isinstance(spec, str) else ""
    if loop is not None and loop not in LOOPS:
        raise _bad(spec, f"loop {loop!r} not one of {LOOPS}")
    folder = Path(datasets) if datasets is not None else datasets_dir()
    if text == "measured":
        return MeasuredLatency(1.0, text)
    if text.startswith("measured*"):
        return MeasuredLatency(_number(spec, text[9:], "factor", True), text)
    kind, sep, arg = text.partition(":")
    if not sep or not arg.strip():
        raise _bad(spec, "not a latency spec")
    arg = arg.strip()
    if kind == "fixed":
        return FixedLatency(ms_to_us(_number(spec, arg, "milliseconds", False)), text)
    if kind == "profile":
        model, at, table_loop = arg.partition("@")
        if at:                  # profile:<model>@<loop>: that table, whatever the agent's loop
            table_loop = table_loop.strip()
            if table_loop not in LOOPS:
                raise _bad(spec, f"table loop {table_loop!r} after '@' not one of {LOOPS}")
        profile = _pick_profile(spec, model.strip(), table_loop if at else loop,
                                load_latency_profiles(folder / PROFILES_CSV))
        return ProfileLatency(profile, sigma_ln, text)
    if kind == "tokens":
        table = load_hardware_profiles(folder / HARDWARE_CSV)
        if arg not in table:
            raise _bad(spec, f"unknown hardware {arg!r}; known: {', '.join(sorted(table))}")
        return TokensLatency(table[arg], text)
    raise _bad(spec, f"unknown kind {kind!r}")
