"""A Gymnasium environment on a simran run: one step = one agent period (optional extra ``gym``).

::

    import gymnasium as gym
    import simran.gym                                    # registers the id below

    env = gym.make("simran/SliceQuota-v0", episode_s=5.0)
    obs, info = env.reset(seed=1)
    obs, reward, terminated, truncated, info = env.step(env.action_space.sample())

``import simran`` never imports this module (nor gymnasium); ``pip install -e ".[gym]"``.

How a step runs
    The environment is an ordinary simran run, stepped with ``env.run(until=…)`` on the SimPy
    clock. An internal agent (kind ``gym_bridge``, loop ``near_rt`` by default) observes every
    ``period_ms``; its observation is what :meth:`SliceQuotaEnv.reset` / :meth:`~SliceQuotaEnv.
    step` return. The action given to the next ``step`` is that agent's decision *for this
    observation*: it goes through the normal decision path — the latency model
    (``latency``, default ``fixed:0``), the loop budget (late → dropped), the control surface's
    guard-rails (quotas of a cell adding up to more than 100 % are scaled down, powers clamped)
    — and lands at the next scheduler tick after t0 + L. The network then runs until the agent's
    next observation, one period later (or later, if the decision took longer than a period).

Observation (a ``Dict`` space; C cells, S slices)
    ``quota_pct`` [C, S] — slice PRB quotas now [%];
    ``slice_mbps`` [C, S] — slice throughput averaged over the last period [Mbit/s] (the KPI
    period is set to the agent period);
    ``prb_util`` [C] — PRB utilisation of the last tick, in [0, 1];
    ``tx_power_dbm`` [C] — transmit power [dBm];
    ``intent_mbps`` [S] — throughput intent per slice [Mbit/s], 0 = none.
    All float32. ``gymnasium.wrappers.FlattenObservation`` gives one vector.

Action
    ``Box(0, 100, (C, S))`` — the slice quotas of every cell [%] (a
    :class:`simran.control.SetSliceQuotas`); with ``control_power=True`` a ``Dict`` of that
    (``quota_pct``) and ``tx_power_dbm`` ``Box(P − 10, P, (C,))`` [dBm], P the scenario's
    ``network.tx_power_dbm`` (a :class:`simran.control.SetCellPower` per cell).

Reward (``reward=``)
    ``"intent"`` (default): r_I = −(1/S_I) Σ_s max(0, abs(T_s − I_s) − tol_s) / I_s over the S_I
    slices with an intent I_s ± tol_s, T_s the slice's network throughput over the last period
    (0 when every slice is in its band). ``"energy"``: r_E = −P̄ [kW], the network's mean power
    over the period (EARTH model). ``"intent+energy"``: r_I + ``energy_weight`` · r_E. Or a
    callable ``reward(obs_dict, info) -> float``. ``info`` has ``t_s``, ``intent_reward``,
    ``energy_reward``, ``energy_j`` (of the period), ``power_kw``, ``decision_status``.

Episodes
    ``episode_s`` of simulated time (default: the scenario's duration); the step whose next
    observation would fall at or after the end returns ``truncated=True``. ``reset(seed=s)``
    runs the scenario with ``simulation.seed = s`` — same seed and same actions ⇒ the same
    episode, bit for bit (tested); ``reset()`` without a seed draws one from the environment's
    generator.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path

import gymnasium
import numpy as np
from gymnasium import spaces

from simran.control import SetCellPower, SetSliceQuotas
from simran.hooks import Agent, Decision, register_agent
from simran.scenario import Scenario, apply_overrides, load_scenario
from simran.simulation import Simulation
from simran.units import US_PER_S, ms_to_us

ENV_ID = "simran/SliceQuota-v0"
BRIDGE = "gym"
REWARDS = ("intent", "energy", "intent+energy")
MAX_MBPS = 1e6
"""Upper bound of the throughput entries of the observation space [Mbit/s] (finite, as
``check_env`` asks; far above any cell's rate)."""

DEFAULT_SCENARIO = {
    "name": "gym_slice_quota",
    "description": "3 cells (one tri-sectorised site), eMBB 60 ± 5 Mbit/s and IoT 4 ± 1 Mbit/s",
    "simulation": {"duration_s": 10.0, "seed": 1},
    "network": {"rings": 0, "sectors": 3, "bandwidth_mhz": 20, "scs_khz": 30},
    "slices": [{"name": "embb", "quota_pct": 50.0, "policy": "pf"},
               {"name": "iot", "quota_pct": 50.0, "policy": "rr"}],
    "ue_groups": [{"name": "phones", "count": 9, "slice": "embb", "mobility": "random_waypoint",
                   "speed_mps": 1.5},
                  {"name": "sensors", "count": 6, "slice": "iot", "traffic": "cbr",
                   "cbr_mbps": 0.8}],
    "events": [{"at_s": 0.0, "action": "set_intent", "slice": "embb", "value": 60.0,
                "tolerance": 5.0},
               {"at_s": 0.0, "action": "set_intent", "slice": "iot", "value": 4.0,
                "tolerance": 1.0}],
    "output": {"ue_kpis": False},
}
"""The environment's scenario when none is given (about 0.3 s of wall time per simulated s)."""


@register_agent("gym_bridge")
class GymBridge(Agent):
    """The environment's agent: hands each observation out and the given action in.

    Its loop (:meth:`run`) observes, triggers ``ready`` (the environment's ``env.run`` returns),
    waits for the action (the next ``step``), then commits it through :meth:`Agent.step` —
    latency, budget, guard-rails, decision log — and waits for its next period.
    """

    def __init__(self, ctx):
        super().__init__(ctx)
        self.obs = None
        self.action: list = []
        self.ready = None            # set by the environment before each env.run
        self.wait = None

    def observe(self):
        return self.obs              # the observation the policy saw (Agent.step observes)

    def decide(self, obs):
        return Decision(actions=list(self.action), note="gym action")

    def run(self):
        env = self._env
        yield env.timeout(self.period_us)
        while True:
            t0 = int(env.now)
            self.obs = self.ctx.observe()
            self.wait = env.event()
            self.ready.succeed(self.obs)
            self.action = yield self.wait
            lat = self.step(t0)
            nxt = t0 + self.period_us
            while nxt < t0 + lat:
                nxt += self.period_us
            yield env.timeout(nxt - t0)


class SliceQuotaEnv(gymnasium.Env):
    """Slice PRB quotas (and optionally cell powers) of a simran run as a Gymnasium environment.

    Parameters
    ----------
    scenario : str, pathlib.Path, dict or Scenario, optional
        The network (default :data:`DEFAULT_SCENARIO`); its own agents run alongside.
    period_ms : float
        Agent period = one step [ms] (default 100).
    episode_s : float, optional
        Episode length [s] (default: the scenario's ``duration_s``).
    reward : str or callable
        ``"intent"``, ``"energy"``, ``"intent+energy"`` or ``reward(obs, info) -> float``.
    energy_weight : float
        Weight of the energy term in ``"intent+energy"`` [1/kW].
    control_power : bool
        Also act on the cells' transmit power.
    loop, latency, late : str
        The bridge agent's loop class, latency model and late policy (scenario semantics).
    overrides : list of str
        ``--set``-style overrides applied to the scenario (``"network.rings=1"``).
    """

    metadata = {"render_modes": []}

    def __init__(self, scenario: str | Path | dict | Scenario | None = None, *,
                 period_ms: float = 100.0, episode_s: float | None = None,
                 reward: str | Callable = "intent", energy_weight: float = 1.0,
                 control_power: bool = False, loop: str = "near_rt", latency: str = "fixed:0",
                 late: str = "drop", overrides: list[str] | tuple = ()):
        if not callable(reward) and reward not in REWARDS:
            raise ValueError(f"reward must be one of {REWARDS} or a callable, got {reward!r}")
        self.reward_spec, self.energy_weight = reward, float(energy_weight)
        self.control_power = bool(control_power)
        scen = self._scenario(scenario, overrides)
        self._source, self._base_dir = scen.source, scen.base_dir
        base = scen.to_dict()
        if episode_s is not None:
            base["simulation"]["duration_s"] = float(episode_s)
        base["output"]["kpi_period_ms"] = float(period_ms)
        base["agents"] = [*base.get("agents", []),
                          {"name": BRIDGE, "kind": "gym_bridge", "loop": loop,
                           "period_ms": float(period_ms), "latency": latency, "late": late}]
        self._base = base
        probe = Scenario.from_dict(copy.deepcopy(base), self._source, self._base_dir)
        sim = Simulation(probe)                       # sizes of the spaces (C, S)
        C, S, p = sim.C, sim.S, probe.network.tx_power_dbm
        self.n_cells, self.n_slices, self.slice_names = C, S, list(sim.slice_names)
        self.period_us = ms_to_us(period_ms)
        self.observation_space = spaces.Dict({
            "quota_pct": spaces.Box(0.0, 100.0, (C, S), np.float32),
            "slice_mbps": spaces.Box(0.0, MAX_MBPS, (C, S), np.float32),
            "prb_util": spaces.Box(0.0, 1.0, (C,), np.float32),
            "tx_power_dbm": spaces.Box(-30.0, 70.0, (C,), np.float32),
            "intent_mbps": spaces.Box(0.0, MAX_MBPS, (S,), np.float32)})
        quota = spaces.Box(0.0, 100.0, (C, S), np.float32)
        self.action_space = (spaces.Dict({"quota_pct": quota, "tx_power_dbm": spaces.Box(
            p - 10.0, p, (C,), np.float32)}) if self.control_power else quota)
        self.sim: Simulation | None = None
        self._bridge: GymBridge | None = None
        self._done = False

    @staticmethod
    def _scenario(scenario, overrides) -> Scenario:
        """The base scenario, validated (with ``overrides`` applied)."""
        if isinstance(scenario, (str, Path)):
            return load_scenario(scenario, list(overrides))
        if isinstance(scenario, Scenario):
            data, source, base_dir = scenario.to_dict(), scenario.source, scenario.base_dir
        else:
            data = copy.deepcopy(DEFAULT_SCENARIO if scenario is None else scenario)
            source, base_dir = "<gym>", "."
        if overrides:
            data = apply_overrides(data, list(overrides))
        return Scenario.from_dict(data, source, base_dir)

    # -- gymnasium API -------------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict | None = None):
        """Start an episode: a new run with ``simulation.seed = seed`` up to the first
        observation (one period in).

        Parameters
        ----------
        seed : int, optional
            Seed of the run (default: drawn from the environment's generator).
        options : dict, optional
            Unused.

        Returns
        -------
        (dict, dict)
            The observation (see the module docstring) and ``{"t_s": time [s]}``.
        """
        super().reset(seed=seed)
        data = copy.deepcopy(self._base)
        data["simulation"]["seed"] = (int(seed) if seed is not None
                                      else int(self.np_random.integers(2**31 - 1)))
        scen = Scenario.from_dict(data, self._source, self._base_dir)
        self.sim = sim = Simulation(scen)
        self._bridge = next(a for a in sim.agents if a.name == BRIDGE)
        self._done = False
        sim.start()
        obs = self._advance()
        if obs is None:
            raise ValueError(f"the episode ({sim.duration_us / US_PER_S:g} s) is shorter than "
                             f"one period ({self.period_us / 1e3:g} ms)")
        self._energy_j = float(sim.energy_j.sum())       # energy of each step from here on
        return self._obs_dict(obs), {"t_s": obs.t_us / US_PER_S}

    def step(self, action):
        """Decide ``action`` for the last observation and run one period.

        Parameters
        ----------
        action : ndarray [C, S] or dict
            Slice quotas [%] (and ``tx_power_dbm`` [C] with ``control_power``).

        Returns
        -------
        (dict, float, bool, bool, dict)
            Observation, reward, terminated (always False), truncated (the episode's end),
            info (see the module docstring).
        """
        if self.sim is None or self._bridge is None or self._done:
            raise RuntimeError("call reset() before step() (and again after the episode ends)")
        bridge = self._bridge
        bridge.wait.succeed(self._actions(action))
        bridge.wait = None
        obs = self._advance()
        truncated = self._done = obs is None      # the next observation is past the end
        if truncated:
            obs = bridge.ctx.observe(drain_inbox=False)
        info = self._info(obs)
        od = self._obs_dict(obs)
        return od, float(self._reward(od, info)), False, truncated, info

    def close(self):
        """Drop the run."""
        self.sim, self._bridge = None, None

    # -- internals -----------------------------------------------------------------------------
    def _advance(self):
        """Run until the bridge's next observation and return it; None if the episode ends
        first (a run covers [0, duration))."""
        sim, bridge = self.sim, self._bridge
        env = sim.env
        bridge.ready = env.event()
        end = env.timeout(max(sim.duration_us - int(env.now), 0))
        env.run(until=env.any_of([bridge.ready, end]))
        if bridge.ready.triggered and bridge.obs.t_us < sim.duration_us:
            return bridge.obs
        return None

    def _actions(self, action) -> list:
        if self.control_power:
            quota, power = action["quota_pct"], action["tx_power_dbm"]
        else:
            quota, power = action, None
        quota = np.asarray(quota, dtype=float).reshape(self.n_cells, self.n_slices)
        acts: list = [SetSliceQuotas(quota_pct=quota)]
        if power is not None:
            p = np.asarray(power, dtype=float).reshape(self.n_cells)
            acts += [SetCellPower(power_dbm=float(v), cell=c) for c, v in enumerate(p)]
        return acts

    def _obs_dict(self, obs) -> dict:
        f32 = np.float32
        return {"quota_pct": np.asarray(obs.quota_pct, f32).copy(),
                "slice_mbps": np.asarray(obs.kpi_cell_slice_mbps, f32).copy(),
                "prb_util": np.asarray(obs.tick_prb_util, f32).copy(),
                "tx_power_dbm": np.asarray(obs.tx_power_dbm, f32).copy(),
                "intent_mbps": np.nan_to_num(np.asarray(obs.intent_mbps, f32), nan=0.0)}

    def _info(self, obs) -> dict:
        sim = self.sim
        e_now = float(sim.energy_j.sum())
        e_step, self._energy_j = e_now - self._energy_j, e_now
        period_s = self.period_us / US_PER_S
        thr = np.asarray(obs.kpi_cell_slice_mbps, float).sum(axis=0)          # [S]
        intent, tol = np.asarray(obs.intent_mbps, float), np.asarray(obs.intent_tol_mbps, float)
        has = np.isfinite(intent) & (intent > 0)
        miss = np.maximum(np.abs(thr - intent) - np.nan_to_num(tol), 0.0)[has] / intent[has]
        rows = self._bridge.ctx.decisions()
        return {"t_s": obs.t_us / US_PER_S,
                "intent_reward": -float(miss.mean()) if has.any() else 0.0,
                "energy_reward": -e_step / period_s / 1e3, "energy_j": e_step,
                "power_kw": e_step / period_s / 1e3, "slice_mbps": thr,
                "decision_status": rows[-1]["status"] if rows else ""}

    def _reward(self, obs: dict, info: dict) -> float:
        r = self.reward_spec
        if callable(r):
            return r(obs, info)
        if r == "intent":
            return info["intent_reward"]
        if r == "energy":
            return info["energy_reward"]
        return info["intent_reward"] + self.energy_weight * info["energy_reward"]


if ENV_ID not in gymnasium.registry:
    gymnasium.register(id=ENV_ID, entry_point="simran.gym:SliceQuotaEnv")
