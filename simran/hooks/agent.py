"""The agent base class and its run loop: agents as time-scaled SimPy processes (design §3).

Every agent runs through one wrapper process (:meth:`Agent.run`):

1. **observe** at t0 — a typed :class:`~simran.hooks.Observation` (KPIs, quotas, intents, UEs,
   messages) from the agent's :class:`~simran.hooks.AgentContext`;
2. **decide** — :meth:`Agent.decide`, called synchronously: the simulation does not advance;
3. **latency** L from the agent's latency model (:mod:`simran.hooks.latency`: ``measured``,
   ``fixed:<ms>``, ``profile:<model>``, ``tokens:<hardware>``);
4. the wrapper yields L of *simulated* time — the network keeps evolving meanwhile;
5. **budget**: L > budget makes the decision late: ``drop`` (default) discards it, ``apply``
   applies it and flags it;
6. **guard-rails**: actions go through :class:`simran.control.ControlSurface`, which validates and
   clamps them (a quota of 140 % never reaches the scheduler);
7. **apply** at the first scheduler tick boundary ≥ t0 + L, and **log** the decision (its
   ``status`` — ``applied``, ``dropped_late``, ``pending``, … — is explained in
   :mod:`simran.hooks.decisions`).

Timing rule: the tick runs before agents at a boundary (it has urgent priority), so an agent that
observes at a boundary t0 sees the allocation made at t0; its action lands at the first boundary
≥ t0 + L that has not yet been scheduled — the next one when L = 0.

An agent also answers **rounds** (:mod:`simran.hooks.messages`): :meth:`Agent.respond` computes a
reply to a request; its latency is charged the same way and the reply arrives that much later.

Only ``measured`` latency depends on wall-clock time, so it is the one latency model whose runs are
not bit-reproducible; a ``replay`` backend returns the recorded wall time and reproduces them.
"""

from __future__ import annotations

import time

import simpy

from simran.errors import AgentError, ScenarioError, SimranError
from simran.hooks.context import AgentContext, Observation
from simran.hooks.decisions import (
    NO_DECISION,
    NO_REPLY,
    Decision,
    DecisionLog,
    DecisionRecord,
    reply_fields,
    worst_verdict,
)
from simran.hooks.latency import FixedLatency, parse_latency_spec
from simran.hooks.messages import Message
from simran.units import US_PER_S, ms_to_us

_perf_counter = time.perf_counter

LOOP_BUDGET_MS = {"rt": 10.0, "near_rt": 1000.0, "non_rt": 60_000.0}
"""Default decision budget per O-RAN loop class (design §3): dApp < 10 ms, xApp 10 ms–1 s,
rApp ≥ 1 s (60 s here: papers/004 Table 7 reaches consensus in 10–48 s)."""


class Agent:
    """Base class of every agent. Subclass it and implement :meth:`decide`.

    Parameters
    ----------
    ctx : AgentContext
        What the agent may read and do (``ctx.params`` are its scenario parameters).

    Examples
    --------
    ::

        from simran.control import SetSliceQuota
        from simran.hooks import Agent, Decision, register_agent

        @register_agent("half_quota")
        class HalfQuota(Agent):
            def decide(self, obs):
                return Decision(actions=[SetSliceQuota(slice=obs.slice_names[0], quota_pct=50)])
    """

    kind = "agent"

    def __init__(self, ctx: AgentContext):
        if not isinstance(ctx, AgentContext):
            raise TypeError(f"{type(self).__name__} takes an AgentContext (the kernel builds it); "
                            f"got {type(ctx).__name__}")
        cfg = ctx.cfg
        self.ctx, self.cfg, self.name = ctx, cfg, cfg.name
        self.rng = ctx.rng
        self._lat_rng = ctx._sim.streams.stream(f"agent-latency:{cfg.name}")
        self.loop = cfg.loop
        self.budget_ms = cfg.budget_ms if cfg.budget_ms is not None else LOOP_BUDGET_MS[cfg.loop]
        self.budget_us = ms_to_us(self.budget_ms)
        self.period_us = max(ms_to_us(cfg.period_ms), 1)
        try:
            self.latency = parse_latency_spec(cfg.latency, loop=cfg.loop)
        except ValueError as exc:
            raise ScenarioError(ctx._sim.scenario.source,
                                [(f"agents.{cfg.name}.latency", str(exc))]) from None
        self._fixed_us = (self.latency.latency_us if type(self.latency) is FixedLatency
                          else None)
        self.inbox: simpy.Store = simpy.Store(ctx._sim.env)
        self._log: DecisionLog = ctx._sim.decision_log
        self._submit = ctx._sim.control.submit
        self._env = ctx._sim.env
        self._origin = f"agent:{cfg.name}"
        self.busy_until_us = 0
        self._row_a: tuple = ()

    # -- to override ----------------------------------------------------------------------
    def decide(self, obs: Observation) -> Decision | list | None:
        """Return a :class:`Decision` (or a list of actions, or None for 'no action')."""
        return None

    def respond(self, request: Message, obs: Observation) -> Decision | None:
        """Answer a round's request: a :class:`Decision` whose ``reply`` is the answer (None:
        no answer — the round times this agent out). Default: no answer."""
        return None

    def backend_description(self) -> str:
        """Which backend really answers (shown by ``simran run``)."""
        return "numeric (no LLM)"

    def first_observation_us(self) -> int:
        """Simulated time of the first observation (default: one period in)."""
        return self.period_us

    def summary_metrics(self) -> dict[str, float]:
        """Run-level metrics of this agent, merged into the run summary at the end (flat
        names with a prefix of the agent's family, e.g. ``type1.rmse_mbps``)."""
        return {}

    def run_report(self) -> list[str]:
        """Lines telling what this agent did, printed by ``simran run`` (default: none)."""
        return []

    def default_loop(self) -> bool:
        """True when the agent runs the base class's loop (:meth:`run` and its periodic
        observe–decide–wait are not overridden): the kernel then drives it with a lighter
        process (:mod:`simran._drive`) in the same event order."""
        t = type(self)
        return t.run is Agent.run and t._loop is Agent._loop

    # -- helpers for subclasses -----------------------------------------------------------
    def observe(self) -> Observation:
        """Build the observation of now (drains the inbox)."""
        return self.ctx.observe()

    def send(self, dst: str, payload: dict, delay_ms: float = 0.0) -> None:
        """Send a message to agent ``dst``, delivered ``delay_ms`` of simulated time later."""
        self.ctx.send(dst, payload, delay_ms)

    # -- the wrapper process (design §3 steps 1–7) -----------------------------------------
    def run(self):
        """The agent's SimPy process.

        An exception escaping the agent reaches the caller of ``env.run`` with its original
        message: SimPy re-creates a failed process's exception as ``type(e)(*e.args)``, which
        fails for classes whose constructor needs more (``json.JSONDecodeError`` became
        ``TypeError: … missing 2 required positional arguments``). Any exception that is not a
        :class:`~simran.errors.SimranError` (those already say what is wrong) is re-raised as
        :class:`~simran.errors.AgentError` naming the agent, its kind, the simulated time, the
        type and the message; the original is its ``__cause__``.
        """
        try:
            yield from self._loop()
        except SimranError as exc:           # already names what is wrong (e.g. its params)
            try:
                type(exc)(*exc.args)
            except Exception:  # noqa: BLE001 - any failure to re-create it
                raise self._failed(exc) from exc
            raise
        except Exception as exc:
            raise self._failed(exc) from exc

    def _failed(self, exc: BaseException) -> AgentError:
        return AgentError(f"agent {self.name!r} ({self.kind}) failed at t = "
                          f"{int(self._env.now) / US_PER_S:g} s: {type(exc).__name__}: {exc}")

    def _loop(self):
        env = self._env
        first = self.first_observation_us()
        if first > 0:
            yield env.timeout(first)
        while True:
            t0 = int(env._now)                           # (env.now, without the property)
            latency_us = self.step(t0)                   # effects are queued for t0 + L
            # the agent is busy thinking until t0 + L (the network evolves meanwhile); a decision
            # longer than the period skips the observations it covered
            period = self.period_us
            nxt = t0 + period
            while nxt < t0 + latency_us:
                nxt += period
            yield env.timeout(nxt - t0)

    def step(self, t0: int) -> int:
        """Observe, decide, charge latency, submit; return the latency [µs]."""
        obs = self.observe()
        w0 = _perf_counter()
        dec = self.decide(obs)
        wall = _perf_counter() - w0
        if dec is None or type(dec) is list:    # no Decision to build: what NO_DECISION says
            lat = self._fixed_us
            if lat is None:
                lat = self._charge(NO_DECISION, wall)
            if t0 + lat > self.busy_until_us:
                self.busy_until_us = t0 + lat
            log = self._log
            if not dec and not log._handed_out:
                # the every-tick case, DecisionLog.add_plain inline: the row as a tuple
                on_time = lat <= self.budget_us
                a = (self.name, self.kind, self.loop, self.budget_ms)
                if a == self._row_a:
                    a = self._row_a
                else:
                    self._row_a = a
                log._rows.append((a, t0, lat, wall, "no_action" if on_time or
                                  self.cfg.late != "drop" else "dropped_late", on_time))
                log._plain += 1
                return lat
            return self._commit_actions(t0, lat, dec, wall)
        if isinstance(dec, list):
            dec = Decision(actions=dec)
        wall_s = dec.wall_s if dec.wall_s is not None else wall
        lat = self._charge(dec, wall_s)
        self.busy_until_us = max(self.busy_until_us, t0 + lat)
        return self._commit(t0, lat, dec, wall_s)

    def _commit_actions(self, t0: int, lat: int, actions: list | None, wall_s: float) -> int:
        """:meth:`_commit` of ``Decision(actions=actions)`` (None: no decision), without it."""
        on_time = lat <= self.budget_us
        if not actions:
            self._log.add_plain(self._agent_fields(), t0, lat, wall_s, "no_action" if on_time
                                or self.cfg.late != "drop" else "dropped_late", on_time)
            return lat
        if not on_time and self.cfg.late == "drop":
            self._row(t0, lat, NO_DECISION, wall_s, "dropped_late", on_time, actions)
            return lat
        row = self._row(t0, lat, NO_DECISION, wall_s, "pending" if on_time else "pending_late",
                        on_time, actions)
        if len(actions) == 1:                     # an rt controller's usual case
            done = "applied" if on_time else "applied_late"

            def applied(t_us, action, verdict):
                row.t_apply_s = t_us / US_PER_S
                row.guard_verdict, row.guard_reason = verdict.status, verdict.reason
                row.status = done

            self._submit(actions[0], t0 + lat, self._origin, applied)
            return lat
        self._submit_all(actions, t0 + lat, row, on_time)
        return lat

    def _charge(self, dec: Decision, wall_s: float) -> int:
        if self._fixed_us is not None:          # a constant: no call (an rt loop's case)
            return self._fixed_us
        return int(self.latency.sample_us(self._lat_rng, wall_s=wall_s,
                                          prompt_tokens=dec.prompt_tokens,
                                          completion_tokens=dec.completion_tokens))

    def _row(self, t0: int, lat: int, dec: Decision, wall_s: float, status: str,
             on_time: bool, actions: list | None = None) -> DecisionRecord:
        """Log a decision's row (``actions``: a plain decision's list, else ``dec.actions``)."""
        if actions is None:
            actions = dec.actions or []           # a list of the row's own when empty
        row = DecisionRecord.__new__(DecisionRecord)      # every field set here
        row._a = self._agent_fields()
        row._r = NO_REPLY if dec is NO_DECISION else reply_fields(dec)
        row.t_obs_s, row.t_ready_s, row.t_apply_s = t0 / US_PER_S, (t0 + lat) / US_PER_S, None
        row.latency_ms, row.on_time = lat / 1e3, on_time
        row.status, row.n_actions = status, len(actions)
        row.actions, row.guard_verdict, row.guard_reason = actions, "", ""
        row.wall_s = wall_s
        log = self._log                         # DecisionLog.add, for a record built here
        row.decision_id = len(log._rows)
        log._rows.append(row)
        return row

    def _agent_fields(self) -> tuple:
        """(name, kind, loop, budget_ms) for the decision log: one tuple shared by the agent's
        rows while these stay the same (fewer objects to build and to collect)."""
        a = (self.name, self.kind, self.loop, self.budget_ms)
        if a == self._row_a:
            return self._row_a
        self._row_a = a
        return a

    def _commit(self, t0: int, lat: int, dec: Decision, wall_s: float) -> int:
        on_time = lat <= self.budget_us
        t_ready = t0 + lat
        late_drop = (not on_time) and self.cfg.late == "drop"
        acts = bool(dec.actions or dec.messages or dec.on_ready is not None)
        status = "dropped_late" if late_drop else ("no_action" if not acts else
                                                   ("pending" if on_time else "pending_late"))
        row = self._row(t0, lat, dec, wall_s, status, on_time)
        if late_drop or not acts:
            return lat
        if dec.actions:
            self._submit_all(dec.actions, t_ready, row, on_time)
        if dec.messages or dec.on_ready is not None:
            self._env.process(self._ready_effects(lat, dec, row, on_time))
        return lat

    def _submit_all(self, actions: list, t_ready: int, row: DecisionRecord, on_time: bool
                    ) -> None:
        """Queue a decision's actions; its row takes their verdicts as they are applied."""
        verdicts: list = []
        n_actions = len(actions)

        def applied(t_us, action, verdict, _row=row, _n=n_actions):
            verdicts.append(verdict)
            _row.t_apply_s = t_us / US_PER_S
            if _n == 1:
                _row.guard_verdict, _row.guard_reason = verdict.status, verdict.reason
            else:
                _row.guard_verdict = worst_verdict([v.status for v in verdicts])
                _row.guard_reason = "; ".join(v.reason for v in verdicts if v.reason)
            if len(verdicts) == _n:
                _row.status = "applied" if on_time else "applied_late"

        for a in actions:
            self._submit(a, t_ready, self._origin, applied)

    def _ready_effects(self, lat: int, dec: Decision, row, on_time: bool):
        if lat:
            yield self._env.timeout(lat)
        for dst, payload in dec.messages:
            self.ctx.send(dst, payload)
        if dec.on_ready is not None:
            dec.on_ready(int(self._env.now))
        if not dec.actions:
            row["t_apply_s"] = self._env.now / US_PER_S
            row["status"] = "applied" if on_time else "applied_late"

    # -- rounds (called by simran.hooks.messages.run_round) -------------------------------------
    def prepare_reply(self, request: Message):
        """Observe now (in the round's fixed order) and return the call that computes the reply
        (it may run in a thread: it must use only this agent's own state)."""
        obs = self.ctx.observe(drain_inbox=False)

        def compute():
            w0 = time.perf_counter()
            dec = self.respond(request, obs)
            return dec, time.perf_counter() - w0
        return compute

    def commit_reply(self, request: Message, dec: Decision | None, wall_s: float, t_req: int,
                     delay_us: int, deadline_us: int) -> tuple[int | None, int, int]:
        """Charge the reply's latency and log it; return (arrival [µs] or None, latency, row)."""
        if dec is None or dec.reply is None:
            row = self._row(t_req, 0, dec or NO_DECISION, wall_s, "no_reply", True)
            row.note = (row.note + "; " if row.note else "") + f"round {request.round_id}"
            return None, 0, row.decision_id
        wall = dec.wall_s if dec.wall_s is not None else wall_s
        start = max(t_req, self.busy_until_us)
        lat = (start - t_req) + self._charge(dec, wall)
        self.busy_until_us = t_req + lat
        arrive = t_req + lat + int(delay_us)
        on_time = lat <= self.budget_us
        row = self._row(t_req, lat, dec, wall, "replied" if arrive <= deadline_us
                        else "reply_late", on_time)
        row.t_apply_s = arrive / US_PER_S
        row.note = (row.note + "; " if row.note else "") + f"round {request.round_id}"
        return arrive, lat, row.decision_id
