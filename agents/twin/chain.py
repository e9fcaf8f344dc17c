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

import time

from agents.twin import blocks as expert
from agents.twin import prompts, scoring
from agents.twin.blueprint import BlueprintError, parse_blueprint
from agents.twin.sandbox import SandboxResult, run_code
from agents.twin.session import (
    ChainConfig,
    LLMSession,
    RunFailure,
    RunRecord,
    extract_code,
)
from agents.twin.tasks import TaskInstance

METHODS = ("chain", "coder", "cot", "reference")
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
