"""The Gymnasium environment with a random policy (``pip install -e ".[gym]"``).

Run it::

    python examples/gym_random_policy.py [--episodes 2] [--episode-s 3]

One step is one period (100 ms) of the environment's agent; the action is every cell's slice
quotas [%]; the reward here is intent tracking (0 when every slice is within its intent band).
See :mod:`simran.gym` and ``notebooks/07_gym.ipynb`` (a short learning loop).
"""

from __future__ import annotations

import argparse

import gymnasium as gym
import numpy as np

import simran.gym  # noqa: F401  (registers simran/SliceQuota-v0)


def main(episodes: int = 2, episode_s: float = 3.0, seed: int = 0) -> list[float]:
    env = gym.make("simran/SliceQuota-v0", episode_s=episode_s)
    env.action_space.seed(seed)
    returns = []
    for ep in range(episodes):
        obs, info = env.reset(seed=seed + ep)
        total, steps, done = 0.0, 0, False
        while not done:
            obs, reward, terminated, truncated, info = env.step(env.action_space.sample())
            total += reward
            steps += 1
            done = terminated or truncated
        returns.append(total)
        print(f"episode {ep}: {steps} steps, return {total:.3f}, last slice throughput "
              f"{np.round(info['slice_mbps'], 1)} Mbit/s (intents {obs['intent_mbps']})")
    env.close()
    return returns


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--episodes", type=int, default=2)
    ap.add_argument("--episode-s", type=float, default=3.0)
    a = ap.parse_args()
    main(a.episodes, a.episode_s)
