"""The closed loop of the benchmark: ask, verify, re-prompt, execute, feed back (papers/002 §II-B).

For each task, in order, in **one** chat whose history is kept across tasks:

1. the task is asked (``Task <id>: <request>``) and the model under test answers;
2. the reply is verified (:func:`agents.bench.commands.parse_commands`). The k-th unparsable
   reply of a task climbs one rung of the ladder: k = ``reprompt_at`` (1) → *"I cannot
   understand your command …"*; k = ``example_at`` (2) → the example format; k ≥ ``master_at``
   (3) → a **master LLM** receives only that last reply and rewrites it as commands, which are
   executed. Each reply of the model is one iteration;
3. parsed commands are executed on simran (:class:`~agents.bench.executor.Executor`: the
   control surface validates and clamps them) and the task's KPI check runs on the results;
4. if the check fails, the model gets *"I have the following error: … Please try again."* —
   the guard-rail interventions (clamped or rejected commands) and the measured KPI — and tries
   again, up to ``max_iterations`` (3) replies; the task succeeds iff its check passes (a clamp
   on a passing answer stays in the transcript).

A backend that cannot answer (:class:`~agents.llm.base.BackendUnavailable`: server down, timeout,
HTTP error) counts as an unparsable, empty reply with its reason recorded; after
``abort_after_unavailable`` consecutive failures the remaining tasks are recorded as skipped, so
a dead server ends the run quickly instead of costing a timeout per iteration.

Every step (who was asked, the prompt, the reply, tokens, wall time, parse error, commands,
guard-rail verdicts, check outcome, feedback) is kept in :attr:`TaskResult.steps`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from agents.bench.checks import CheckContext, Outcome, evaluate
from agents.bench.commands import EXAMPLE_REPLY, CommandError, parse_commands
from agents.bench.executor import Executor
from agents.bench.network import NetworkView
from agents.bench.tasks import ResolvedTask
from agents.llm.base import BackendUnavailable, ChatReply, LLMBackend

COMMAND_FORMS = """\
{"action": "set_slice_quota", "cell": "<cell or all>", "slice": "<slice>", "quota_pct": <0-100>}
{"action": "set_cell_power", "cell": "<cell or all>", "power_dbm": <dBm>}
{"action": "set_cell_state", "cell": "<cell or all>", "state": "on" | "off" | "sleep"}
{"action": "set_intent", "slice": "<slice>", "target_mbps": <Mbit/s>, "tolerance_mbps": <Mbit/s>}
{"action": "set_kp", "slice": "<slice>", "kp": <gain in % per Mbit/s>}"""

SYSTEM = """You operate a 5G radio access network and change it only with JSON commands.
{network}
Answer every task with one JSON object and nothing else: {{"commands": [...]}}, a list of \
commands applied in order, each one of:
{forms}"""

CANNOT_UNDERSTAND = ("I cannot understand your command ({reason}). Answer only with one JSON "
                     'object {{"commands": [...]}} and nothing else.')
EXAMPLE = "Answer in exactly this format, with JSON only. Example: {example}"
FEEDBACK = "I have the following error: {errors}. Please try again."
MASTER_SYSTEM = ("You convert a network operator's answer into JSON commands. Reply with one "
                 "JSON object and nothing else.")
MASTER_USER = """Cells: {cells}. Slices: {slices}. Command formats:
{forms}
Example of the required output: {example}
Rewrite this answer as such a JSON object:
<<<
{reply}
>>>"""


@dataclass
class LadderConfig:
    """Limits of the loop (defaults: papers/002).

    Attributes
    ----------
    max_iterations : int
        Replies of the model per task.
    reprompt_at, example_at, master_at : int
        Which unparsable reply of a task gets "cannot understand", the example, the master.
    history_max_chars : int or None
        Keep at most this many characters of earlier chat (oldest dropped first; the current
        task is always kept). ``None``: everything (small context windows need a limit).
    max_tokens : int
        Reply length cap per call [tokens].
    abort_after_unavailable : int
        Consecutive unanswered calls after which the remaining tasks are skipped.
    """

    max_iterations: int = 3
    reprompt_at: int = 1
    example_at: int = 2
    master_at: int = 3
    history_max_chars: int | None = None
    max_tokens: int = 256
    abort_after_unavailable: int = 3


@dataclass
class TaskResult:
    """Outcome and metrics of one task for one model (one row of the per-model table).

    Attributes
    ----------
    task, level : str
    success : bool
        The task's KPI check passed.
    iterations : int
        Replies of the model under test.
    format_requested, example_given, master_used, master_parsed, master_helped : bool
        The ladder's flags: "cannot understand" sent; example sent; the master was asked; a
        master rewrite parsed; the task succeeded on a master-rewritten command.
    tokens_in, tokens_out : int
        Prompt and completion tokens of the model under test, summed over the task.
    wall_s : float
        Wall-clock seconds of the model's calls [s] (latency).
    master_tokens_in, master_tokens_out : int
    master_wall_s : float
    message : str
        The last check message, parse error or skip reason.
    steps : list of dict
        The transcript of the task.
    """

    task: str
    level: str
    success: bool = False
    iterations: int = 0
    format_requested: bool = False
    example_given: bool = False
    master_used: bool = False
    master_parsed: bool = False
    master_helped: bool = False
    tokens_in: int = 0
    tokens_out: int = 0
    wall_s: float = 0.0
    master_tokens_in: int = 0
    master_tokens_out: int = 0
    master_wall_s: float = 0.0
    message: str = ""
    steps: list = field(default_factory=list)

    @property
    def tokens_per_s(self) -> float:
        """Completion tokens per wall second of the model under test (0 if no tokens)."""
        return self.tokens_out / self.wall_s if self.wall_s > 0 and self.tokens_out else 0.0

    def row(self) -> dict:
        """A flat dict for the CSV (without the transcript)."""
        d = {k: v for k, v in asdict(self).items() if k != "steps"}
        d["tokens_per_s"] = self.tokens_per_s
        return d


def window(history: list[dict], keep_from: int, max_chars: int | None) -> list[dict]:
    """The part of ``history`` sent to the model.

    Parameters
    ----------
    history : list of dict
        Chat messages after the system prompt.
    keep_from : int
        Index where the current task starts; never dropped.
    max_chars : int or None
        Budget of characters of message content.

    Returns
    -------
    list of dict
        A suffix of ``history`` starting at a user message.
    """
    if max_chars is None:
        return history
    start = keep_from
    size = sum(len(m["content"]) for m in history[keep_from:])
    for i in range(keep_from - 1, -1, -1):
        size += len(history[i]["content"])
        if size > max_chars:
            break
        if history[i]["role"] == "user":
            start = i
    return history[start:]


class Session:
    """One model's run through the tasks, with its chat history (see module docstring).

    Parameters
    ----------
    backend : LLMBackend
        The model under test (or the scripted rule).
    master : LLMBackend
        The master LLM of the third rung.
    view : NetworkView
    executor : Executor
    scenario : dict
        Resolved base scenario.
    config : LadderConfig
    """

    def __init__(self, backend: LLMBackend, master: LLMBackend, view: NetworkView,
                 executor: Executor, scenario: dict, config: LadderConfig | None = None):
        self.backend, self.master = backend, master
        self.view, self.executor, self.scenario = view, executor, scenario
        self.config = config or LadderConfig()
        self.system = SYSTEM.format(network=view.describe(), forms=COMMAND_FORMS)
        self.history: list[dict] = []
        self.unavailable = 0

    # ---------------------------------------------------------------------- calls -----------
    def _call(self, backend: LLMBackend, messages: list[dict]) -> tuple[ChatReply | None, str]:
        try:
            reply = backend.chat(messages, None, max_tokens=self.config.max_tokens)
        except BackendUnavailable as exc:
            self.unavailable += 1
            return None, f"backend unavailable: {exc}"
        self.unavailable = 0
        return reply, ""

    def _ask_model(self, res: TaskResult, keep_from: int) -> tuple[str, dict]:
        msgs = [{"role": "system", "content": self.system}]
        msgs += window(self.history, keep_from, self.config.history_max_chars)
        reply, error = self._call(self.backend, msgs)
        res.iterations += 1
        step = {"task": res.task, "iteration": res.iterations, "who": "model",
                "prompt": self.history[-1]["content"], "messages_sent": len(msgs)}
        text = reply.text if reply is not None else ""
        if reply is not None:
            res.tokens_in += reply.prompt_tokens
            res.tokens_out += reply.completion_tokens
            res.wall_s += reply.wall_s
            step.update(backend=reply.backend, model=reply.model, tokens_in=reply.prompt_tokens,
                        tokens_out=reply.completion_tokens, wall_s=reply.wall_s)
        step.update(reply=text, error=error)
        self.history.append({"role": "assistant", "content": text})
        return text, step

    def _ask_master(self, res: TaskResult, last_reply: str) -> tuple[str, dict]:
        user = MASTER_USER.format(cells=", ".join(self.view.names) + ", all",
                                  slices=", ".join(self.view.slices), forms=COMMAND_FORMS,
                                  example=EXAMPLE_REPLY, reply=last_reply)
        msgs = [{"role": "system", "content": MASTER_SYSTEM}, {"role": "user", "content": user}]
        reply, error = self._call(self.master, msgs)
        res.master_used = True
        step = {"task": res.task, "iteration": res.iterations, "who": "master",
                "prompt": user, "reply": reply.text if reply else "", "error": error}
        if reply is not None:
            res.master_tokens_in += reply.prompt_tokens
            res.master_tokens_out += reply.completion_tokens
            res.master_wall_s += reply.wall_s
            step.update(backend=reply.backend, model=reply.model, tokens_in=reply.prompt_tokens,
                        tokens_out=reply.completion_tokens, wall_s=reply.wall_s)
        return step["reply"], step

    # ---------------------------------------------------------------------- loop ------------
    def _execute(self, task: ResolvedTask, cmds, step: dict) -> tuple[Outcome, list[str]]:
        ex = self.executor.execute(self.view, cmds, task.setup)
        out = evaluate(task.task.kind, task.params, CheckContext(self.view, ex, self.scenario))
        problems = ex.problems() + ([] if out.ok else [f"check failed: {out.message}"])
        step.update(commands=[c.to_json() for c in cmds],
                    verdicts=[{"status": v.status, "reason": v.reason} for v in ex.verdicts],
                    check_ok=out.ok, check=out.message)
        return out, problems

    def _unparsable(self, task: ResolvedTask, res: TaskResult, text: str, reason: str,
                    count: int, step: dict) -> tuple[bool, str]:
        """Climb the ladder; return (task solved, feedback for the model or "")."""
        cfg = self.config
        if count >= cfg.master_at:
            mtext, mstep = self._ask_master(res, text)
            step["master"] = mstep
            try:
                cmds = parse_commands(mtext, self.view.names, self.view.slices)
            except CommandError as exc:
                mstep["parse_error"] = str(exc)
                res.message = f"master reply unparsable: {exc}"
                return False, CANNOT_UNDERSTAND.format(reason=reason)
            res.master_parsed = True
            out, problems = self._execute(task, cmds, mstep)
            res.message = out.message
            if out.ok:
                res.master_helped = True
                return True, ""
            return False, (f"Your answer was read as {mtext.strip()}. "
                           + FEEDBACK.format(errors="; ".join(problems)))
        if count >= cfg.example_at:
            res.example_given = True
            return False, EXAMPLE.format(example=EXAMPLE_REPLY)
        res.format_requested = True
        return False, CANNOT_UNDERSTAND.format(reason=reason)

    def run_task(self, task: ResolvedTask) -> TaskResult:
        """Run the loop for one task (history kept for the next)."""
        res = TaskResult(task=task.id, level=task.task.level)
        keep_from = len(self.history)
        self.history.append({"role": "user", "content": f"Task {task.id}: {task.task.request}"})
        unparsable = 0
        while res.iterations < self.config.max_iterations:
            if self.unavailable >= self.config.abort_after_unavailable:
                res.message = "skipped: the backend did not answer " \
                              f"{self.unavailable} times in a row"
                break
            text, step = self._ask_model(res, keep_from)
            res.steps.append(step)
            try:
                cmds = parse_commands(text, self.view.names, self.view.slices)
            except CommandError as exc:
                unparsable += 1
                step["parse_error"] = str(exc)
                res.message = step["error"] or f"unparsable: {exc}"
                solved, feedback = self._unparsable(task, res, text, str(exc), unparsable, step)
            else:
                out, problems = self._execute(task, cmds, step)
                res.message = out.message
                solved = out.ok
                feedback = "" if solved else FEEDBACK.format(errors="; ".join(problems))
            if solved:
                res.success = True
                break
            if res.iterations < self.config.max_iterations and feedback:
                step["feedback"] = feedback
                self.history.append({"role": "user", "content": feedback})
        return res

    def run(self, tasks: list[ResolvedTask]) -> list[TaskResult]:
        """Run every task in order; skipped tasks are recorded, never dropped."""
        results = []
        for task in tasks:
            if self.unavailable >= self.config.abort_after_unavailable:
                results.append(TaskResult(task=task.id, level=task.task.level, message=(
                    f"skipped: the backend did not answer {self.unavailable} times in a row")))
                continue
            results.append(self.run_task(task))
        return results
