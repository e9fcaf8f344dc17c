"""The Hermes chain of LLM agents and the baselines of Table I (papers/000 §III, §IV-B).

Methods (``solve(method, …)``):

``chain`` (Hermes)
    *Design*: N coarse-grained generators (each with its own perspective) → N evaluators →
    M fine-grained generators → blueprint editor → blueprint refiner → validation (one repair
    attempt). *Coding*: code generator → code refiner (known pitfalls: units, column order,
    files read before use) → interpreter (the sandbox) → debugger fed with the traceback, up to
    ``debug_rounds`` times; after that the coding phase restarts (``restarts`` times).
    *Feedback*: the sanity check runs the program on the null policy (no change), whose answer
    is the measured baseline in the inputs; a mismatch ≥ 10 % goes back to the blueprint
    refiner, and the coding phase runs again (``feedback_rounds`` times).
``coder`` (Hermes-coder)
    A chain-of-thought solution (no code) implemented by the coding phase above; no designer.
``cot``
    One prompt: reasoning, then the program. No refiner, no debugger.
``reference``
    No LLM: the expert-written blueprint and program of :mod:`agents.twin.reference`, through
    the same validation, sandbox, sanity check and scoring. Labelled ``reference``.

Every LLM call is recorded (stage, messages, prompt hash, raw reply, tokens, wall time) so a run
can be replayed with ``replay:<transcripts.jsonl>``. Whatever goes wrong — no answer, timeout,
no code, invalid blueprint, code that fails — ends the run as a failure with a reason; it never
raises out of :func:`solve`.
"""

from __future__ import annotations

import re
import threading
import time
from dataclasses import asdict, dataclass, field

from agents.twin import blocks as expert
from agents.twin import prompts, scoring
from agents.twin.blueprint import BlueprintError, parse_blueprint
from agents.twin.sandbox import Limits, SandboxResult, run_code
from agents.twin.tasks import TaskInstance

METHODS = ("chain", "coder", "cot", "reference")
CHARS_PER_TOKEN = 3.0
"""Conservative prompt-size estimate (SmolLM2's tokenizer: ~2.9 characters per token here)."""


@dataclass
class ChainConfig:
    """Knobs of the chain (defaults: the paper's structure at a size a small model can run).

    Attributes
    ----------
    n_coarse : int
        Coarse-grained generators / evaluators N.
    m_fine : int
        Fine-grained generators M.
    debug_rounds : int
        Debugger iterations before a restart.
    restarts : int
        Restarts of the coding phase after repeated failures.
    feedback_rounds : int
        Sanity-check → blueprint-refiner → recode rounds.
    max_tokens : int
        Largest reply per call [tokens].
    temperature : float
        Sampling temperature (0: greedy).
    context_tokens : int
        Context window of the model [tokens]; prompts and replies are fitted into it.
    call_timeout_s : float
        Wall-clock limit of one LLM call [s] (a model that never answers fails the run).
    limits : Limits
        Sandbox limits of every program run.
    compact_blocks : bool
        Show the blocks' summary lines instead of their whole docstrings (small contexts).
    """

    n_coarse: int = 2
    m_fine: int = 1
    debug_rounds: int = 2
    restarts: int = 1
    feedback_rounds: int = 1
    max_tokens: int = 512
    temperature: float = 0.0
    context_tokens: int = 2048
    call_timeout_s: float = 300.0
    limits: Limits = field(default_factory=Limits)
    compact_blocks: bool = True


class RunFailure(Exception):
    """A run stops: ``stage`` and ``reason`` are recorded in its result."""

    def __init__(self, stage: str, reason: str):
        super().__init__(f"{stage}: {reason}")
        self.stage = stage
        self.reason = reason


@dataclass
class RunRecord:
    """The outcome of one run of one method on one task instance (one row of runs.jsonl)."""

    task: str
    run: int
    method: str
    backend: str
    model: str
    blocks: list
    success: bool = False
    error: float | None = None
    stage: str = ""
    reason: str = ""
    blueprint: str | None = None
    code: str | None = None
    sanity_error: float | None = None
    sandbox: dict = field(default_factory=dict)
    llm_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    llm_wall_s: float = 0.0
    wall_s: float = 0.0
    policy: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        """JSON-serialisable form."""
        return asdict(self)


# ------------------------------------------------------------------------------------------------
# LLM calls
# ------------------------------------------------------------------------------------------------
def _call_with_timeout(fn, timeout_s: float):
    box: dict = {}

    def target():
        try:
            box["value"] = fn()
        except BaseException as exc:  # noqa: BLE001 — handed to the caller below
            box["error"] = exc

    worker = threading.Thread(target=target, daemon=True)
    worker.start()
    worker.join(timeout_s)
    if worker.is_alive():
        raise TimeoutError(f"no answer within {timeout_s:g} s")
    if "error" in box:
        raise box["error"]
    return box["value"]


class LLMSession:
    """Ask one backend, fit prompts into its context, record every call.

    Parameters
    ----------
    backend : agents.llm.base.LLMBackend
    config : ChainConfig
    transcript : list of dict
        Every call is appended here (the JSON lines of ``transcripts.jsonl``).
    tags : dict
        Added to every record (task, run, method).
    """

    def __init__(self, backend, config: ChainConfig, transcript: list, tags: dict):
        self.backend = backend
        self.config = config
        self.transcript = transcript
        self.tags = tags
        self.calls = self.prompt_tokens = self.completion_tokens = 0
        self.wall_s = 0.0

    def ask(self, stage: str, system: str, user: str) -> str:
        """One chat call; returns the reply text or raises :class:`RunFailure`."""
        from agents.llm.base import BackendUnavailable, prompt_hash

        messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
        est = int(len(system + user) / CHARS_PER_TOKEN) + 16
        max_tokens = min(self.config.max_tokens, self.config.context_tokens - est)
        if max_tokens < 64:
            raise RunFailure(stage, f"prompt of ~{est} tokens does not fit the "
                                    f"{self.config.context_tokens}-token context")
        t0 = time.perf_counter()
        record = dict(self.tags, stage=stage, prompt_hash=prompt_hash(messages, None),
                      messages=messages, max_tokens=max_tokens)
        try:
            reply = _call_with_timeout(
                lambda: self.backend.chat(messages, None, max_tokens=max_tokens,
                                          temperature=self.config.temperature),
                self.config.call_timeout_s)
        except (BackendUnavailable, TimeoutError, RuntimeError, ValueError, OSError) as exc:
            record.update(raw_text="", backend=getattr(self.backend, "name", "?"),
                          model=getattr(self.backend, "model", "?"), prompt_tokens=0,
                          completion_tokens=0, wall_s=time.perf_counter() - t0,
                          error=f"{type(exc).__name__}: {exc}")
            self.transcript.append(record)
            self.calls += 1
            raise RunFailure(stage, f"LLM gave no answer: {type(exc).__name__}: {exc}"
                             [:300]) from None
        record.update(raw_text=reply.text, backend=reply.backend, model=reply.model,
                      prompt_tokens=reply.prompt_tokens,
                      completion_tokens=reply.completion_tokens, wall_s=reply.wall_s,
                      error=None)
        self.transcript.append(record)
        self.calls += 1
        self.prompt_tokens += reply.prompt_tokens
        self.completion_tokens += reply.completion_tokens
        self.wall_s += reply.wall_s
        return reply.text or ""


_CODE = re.compile(r"```[ \t]*(?:python|py|python3)?[ \t]*\n(.*?)(?:```|\Z)", re.S | re.I)


def extract_code(text: str) -> str | None:
    """The program in a reply: the longest fenced block, else the text if it looks like code."""
    found = [b for b in _CODE.findall(text or "") if b.strip()]
    if found:
        return max(found, key=len).strip() + "\n"
    if re.search(r"^\s*(import|from)\s+\w+", text or "", re.M):
        return text.strip() + "\n"
    return None


# ------------------------------------------------------------------------------------------------
# the phases
# ------------------------------------------------------------------------------------------------
class _Run:
    """One run: the instance, the blocks, the session and the record being filled."""

    def __init__(self, inst: TaskInstance, block_names, session: LLMSession | None,
                 config: ChainConfig, record: RunRecord):
        self.inst = inst
        self.blocks = tuple(block_names)
        self.session = session
        self.config = config
        self.record = record
        self.statement = inst.statement
        self.blocks_doc = expert.describe(self.blocks, compact=config.compact_blocks)

    def ask(self, stage: str, pair: tuple[str, str]) -> str:
        return self.session.ask(stage, *pair)

    # -- interpreter ---------------------------------------------------------------------------
    def execute(self, code: str, files: dict) -> SandboxResult:
        return run_code(code, files, blocks=self.blocks, limits=self.config.limits)

    def _problem(self, res: SandboxResult) -> str | None:
        """What is wrong with a run of the program on the real inputs (no ground truth used
        beyond the result's shape, which the statement gives)."""
        if not res.ok:
            return f"{res.status}: {res.reason}\n{res.stderr[-600:]}"
        try:
            scoring.score(self.inst.task, res.result, self.inst.truth,
                          self.inst.baseline_energy_kwh)
        except scoring.ResultError as exc:
            return f"bad result.json: {exc}"
        except (ZeroDivisionError, ValueError) as exc:
            return f"bad result.json: {exc}"
        return None

    # -- coding phase --------------------------------------------------------------------------
    def coding_phase(self, design: str) -> str:
        """Generate, refine, execute and debug; restart after repeated failures."""
        last = "no attempt"
        for attempt in range(self.config.restarts + 1):
            tag = f"#{attempt}"
            reply = self.ask(f"code_generator{tag}", prompts.code_generator(
                self.statement, self.blocks_doc, prompts.clip(design, 1800)))
            code = extract_code(reply)
            if code is None:
                last = "the code generator's reply contains no code"
                continue
            refined = extract_code(self.ask(f"code_refiner{tag}",
                                            prompts.code_refiner(self.statement,
                                                                 prompts.clip(code, 2400))))
            code = refined or code
            for d in range(self.config.debug_rounds + 1):
                problem = self._problem(self.execute(code, self.inst.files))
                if problem is None:
                    return code
                last = problem.splitlines()[0][:300]
                if d == self.config.debug_rounds:
                    break
                fixed = extract_code(self.ask(f"debugger{tag}.{d}", prompts.debugger(
                    prompts.clip(code, 2400), prompts.clip(problem, 700))))
                code = fixed or code
            self.record.code = code
        raise RunFailure("coding", f"no working program after {self.config.restarts + 1} "
                                   f"attempt(s); last: {last}")

    # -- design phase --------------------------------------------------------------------------
    def design_phase(self) -> str:
        """Coarse generators → evaluators → fine generators → blueprint editor → refiner."""
        material = []
        for k in range(self.config.n_coarse):
            refl = self.ask(f"coarse_{k}", prompts.coarse(self.statement, self.blocks_doc, k))
            review = self.ask(f"evaluator_{k}",
                              prompts.evaluator(self.statement, prompts.clip(refl, 900)))
            material.append(f"Idea {k + 1}: {prompts.clip(refl, 600)}\n"
                            f"Review {k + 1}: {prompts.clip(review, 500)}")
        strategies = [self.ask(f"fine_{j}", prompts.fine(self.statement, self.blocks_doc,
                                                         "\n".join(material)))
                      for j in range(self.config.m_fine)]
        draft = self.ask("blueprint_editor", prompts.blueprint_editor(
            self.statement, self.blocks_doc, prompts.clip("\n\n".join(strategies), 1500)))
        return self.refine_blueprint(draft, "")

    def refine_blueprint(self, draft: str, feedback: str) -> str:
        """Blueprint refiner, then validation with one repair attempt; returns the TOML."""
        from agents.twin.blueprint import extract_toml

        refined = self.ask("blueprint_refiner" + ("_feedback" if feedback else ""),
                           prompts.blueprint_refiner(self.statement,
                                                     prompts.clip(extract_toml(draft), 1800),
                                                     feedback))
        for candidate in (refined, draft):
            try:
                bp = parse_blueprint(candidate, self.blocks)
                self.record.blueprint = bp.text
                return bp.text
            except BlueprintError as exc:
                error = str(exc)
        repaired = self.ask("blueprint_repair", prompts.blueprint_repair(
            prompts.clip(extract_toml(refined), 1500), error))
        try:
            bp = parse_blueprint(repaired, self.blocks)
        except BlueprintError as exc:
            self.record.blueprint = extract_toml(repaired)
            raise RunFailure("blueprint", f"invalid blueprint: {exc}") from None
        self.record.blueprint = bp.text
        return bp.text

    # -- feedback phase ------------------------------------------------------------------------
    def sanity(self, code: str) -> tuple[float | None, str]:
        """Run on the null policy; compare with the measured baseline. (error, message)."""
        inst = self.inst
        res = self.execute(code, inst.files_with_policy(inst.null_policy))
        if not res.ok:
            return None, f"with no change the program failed: {res.status}: {res.reason}"
        try:
            err = scoring.score(inst.task, res.result, inst.null_truth,
                                inst.baseline_energy_kwh, saving=False)
        except (scoring.ResultError, ZeroDivisionError, ValueError) as exc:
            return None, f"with no change the program wrote a bad result: {exc}"
        return err, _sanity_message(inst, res.result, err)


def _mean_db(values) -> float:
    import numpy as np

    return float(np.mean(np.asarray(values, float)))


def _sanity_message(inst: TaskInstance, result: dict, err: float) -> str:
    want = inst.null_truth
    if "sinr_db" in want:
        got = result["sinr_db"][0] if inst.task == "tradeoff" else result["sinr_db"]
        ref = want["sinr_db"][0] if inst.task == "tradeoff" else want["sinr_db"]
        detail = (f"mean SINR {_mean_db(got):.2f} dB vs measured {_mean_db(ref):.2f} dB "
                  "(ues.csv sinr_db)")
    else:
        detail = (f"energy {float(result['energy_kwh']):.3f} kWh vs measured "
                  f"{float(want['energy_kwh']):.3f} kWh (network.toml [baseline])")
    return (f"Sanity check: with no change ({inst.null_policy}) the program must reproduce the "
            f"measured network. Relative error {err:.1%}: {detail}.")


# ------------------------------------------------------------------------------------------------
# the methods
# ------------------------------------------------------------------------------------------------
def _final(run: _Run, code: str) -> None:
    inst, rec = run.inst, run.record
    rec.code = code
    res = run.execute(code, inst.files)
    rec.sandbox = res.to_dict()
    if not res.ok:
        raise RunFailure("execution", f"{res.status}: {res.reason}")
    try:
        rec.error = scoring.score(inst.task, res.result, inst.truth, inst.baseline_energy_kwh)
    except (scoring.ResultError, ZeroDivisionError, ValueError) as exc:
        raise RunFailure("result", str(exc)) from None
    rec.success = scoring.success(rec.error)
    if not rec.success:
        rec.stage, rec.reason = "score", f"error {rec.error:.1%} >= 10 %"


def _run_cot(run: _Run) -> None:
    reply = run.ask("cot", prompts.cot(run.statement, run.blocks_doc))
    code = extract_code(reply)
    if code is None:
        raise RunFailure("cot", "the reply contains no code")
    _final(run, code)


def _run_coder(run: _Run) -> None:
    plan = run.ask("cot_plan", prompts.cot_plan(run.statement, run.blocks_doc))
    _final(run, run.coding_phase(plan))


def _run_chain(run: _Run) -> None:
    blueprint = run.design_phase()
    code = run.coding_phase(blueprint)
    for _ in range(run.config.feedback_rounds):
        err, message = run.sanity(code)
        run.record.sanity_error = err
        if err is not None and scoring.success(err):
            break
        blueprint = run.refine_blueprint(blueprint, message)
        code = run.coding_phase(blueprint)
    else:
        run.record.sanity_error, _ = run.sanity(code)
    _final(run, code)


def _run_reference(run: _Run) -> None:
    from agents.twin import reference

    bp = parse_blueprint(reference.blueprint_text(run.inst.task))
    run.record.blueprint = bp.text
    code = reference.code_text(run.inst.task)
    run.record.sanity_error, _ = run.sanity(code)
    _final(run, code)


_METHODS = {"chain": _run_chain, "coder": _run_coder, "cot": _run_cot,
            "reference": _run_reference}


def solve(method: str, inst: TaskInstance, block_names, backend=None,
          config: ChainConfig | None = None, transcript: list | None = None) -> RunRecord:
    """Run one method on one task instance; never raises for what the model or code does.

    Parameters
    ----------
    method : {"chain", "coder", "cot", "reference"}
    inst : TaskInstance
    block_names : sequence of str
        Expert blocks of this run (:func:`agents.twin.blocks.select`).
    backend : LLMBackend, optional
        Required except for ``reference``.
    config : ChainConfig, optional
    transcript : list, optional
        LLM calls are appended here.

    Returns
    -------
    RunRecord
    """
    if method not in _METHODS:
        raise ValueError(f"unknown method {method!r}; valid: {', '.join(METHODS)}")
    config = config or ChainConfig()
    transcript = transcript if transcript is not None else []
    is_ref = method == "reference"
    if backend is None and not is_ref:
        raise ValueError(f"method {method!r} needs an LLM backend")
    record = RunRecord(task=inst.task, run=inst.run, method=method,
                       backend="reference (expert-written)" if is_ref else backend.name,
                       model="none" if is_ref else backend.model, blocks=list(block_names),
                       policy=inst.policy)
    tags = {"task": inst.task, "run": inst.run, "method": method, "blocks": len(block_names)}
    session = None if is_ref else LLMSession(backend, config, transcript, tags)
    run = _Run(inst, block_names, session, config, record)
    t0 = time.perf_counter()
    try:
        _METHODS[method](run)
    except RunFailure as exc:
        record.success, record.stage, record.reason = False, exc.stage, exc.reason
    except Exception as exc:  # noqa: BLE001 — a harness bug must not stop the evaluation
        record.success, record.stage = False, "harness"
        record.reason = f"{type(exc).__name__}: {exc}"[:300]
    record.wall_s = time.perf_counter() - t0
    if session is not None:
        record.llm_calls, record.llm_wall_s = session.calls, session.wall_s
        record.prompt_tokens = session.prompt_tokens
        record.completion_tokens = session.completion_tokens
    return record
