"""The Gymnasium environment (issue 15 part 3): API conformance, reproducibility, the decision
path of its actions, and that ``import simran`` stays free of gymnasium."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

gym = pytest.importorskip("gymnasium", reason="gymnasium is not installed (the gym extra)")

from gymnasium.utils.env_checker import check_env  # noqa: E402

import simran.gym as sg  # noqa: E402


def episode(seed: int, action_seed: int = 0, **kw) -> tuple[list, list]:
    env = gym.make(sg.ENV_ID, episode_s=1.0, **kw)
    env.action_space.seed(action_seed)
    obs, _ = env.reset(seed=seed)
    seen, rewards = [obs], []
    while True:
        obs, r, term, trunc, _ = env.step(env.action_space.sample())
        seen.append(obs)
        rewards.append(r)
        if term or trunc:
            return seen, rewards


def same(a: list, b: list) -> bool:
    return all(np.array_equal(x[k], y[k]) for x, y in zip(a, b) for k in x) and len(a) == len(b)


def test_passes_the_gymnasium_env_checker():
    check_env(sg.SliceQuotaEnv(episode_s=1.0))
    check_env(sg.SliceQuotaEnv(episode_s=1.0, control_power=True, reward="intent+energy"))


def test_registered_id_and_one_step_per_period():
    env = gym.make("simran/SliceQuota-v0", episode_s=1.0, period_ms=200)
    obs, info = env.reset(seed=1)
    assert info["t_s"] == pytest.approx(0.2)
    assert env.observation_space.contains(obs)
    n, t = 0, []
    while True:
        obs, r, term, trunc, info = env.step(env.action_space.sample())
        n += 1
        t.append(info["t_s"])
        if trunc:
            break
    # observations at 0.2, 0.4, 0.6, 0.8; the 4th step runs to the end of the episode (1 s)
    assert n == 4 and t == pytest.approx([0.4, 0.6, 0.8, 1.0])
    with pytest.raises(RuntimeError):
        env.step(env.action_space.sample())


def test_same_seed_same_episode_and_another_seed_another():
    a_obs, a_r = episode(seed=7)
    b_obs, b_r = episode(seed=7)
    assert same(a_obs, b_obs) and a_r == b_r
    c_obs, _ = episode(seed=8)
    assert not same(a_obs, c_obs)


def test_actions_take_the_decision_path_with_guard_rails_and_latency():
    env = sg.SliceQuotaEnv(episode_s=1.0, latency="fixed:12")
    env.reset(seed=2)
    obs, *_ = env.step(np.full((3, 2), 80.0, np.float32))     # 160 % per cell: scaled to 100
    np.testing.assert_allclose(obs["quota_pct"], 50.0)
    rows = env._bridge.ctx.decisions()
    assert rows[0]["guard_verdict"] == "clamped" and rows[0]["status"] == "applied"
    # observed at 0.1 s, ready at 0.112 s, applied at the next 5 ms tick: 0.115 s
    assert rows[0]["t_obs_s"] == pytest.approx(0.1)
    assert rows[0]["t_apply_s"] == pytest.approx(0.115)


def test_intent_reward_is_zero_in_band_and_negative_off_band():
    env = sg.SliceQuotaEnv(episode_s=2.0)
    env.reset(seed=4)
    starve = np.zeros((3, 2), np.float32)
    for _ in range(3):
        obs, r, *_ , info = env.step(starve)
    # nothing served: each slice misses its intent by (I − tol) / I: (60 − 5)/60 and (4 − 1)/4
    assert r == pytest.approx(-((60 - 5) / 60 + (4 - 1) / 4) / 2)
    assert info["slice_mbps"].sum() == pytest.approx(0.0)
    env2 = sg.SliceQuotaEnv(episode_s=2.0, reward="energy")
    env2.reset(seed=4)
    _, r2, *_, info2 = env2.step(np.full((3, 2), 50.0, np.float32))
    assert r2 == pytest.approx(-info2["power_kw"]) and info2["energy_j"] > 0


def test_import_simran_does_not_import_gymnasium():
    code = "import sys, simran; print('gymnasium' in sys.modules, 'simran.gym' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.split()
    assert out == ["False", "False"]
