"""The paper's functions for 𝒪_in (papers/004 §3.3, Eq. 4–8) and Algorithm 1 as printed (App. A).

Vectorised over leading axes; the last axis is the tenants. Throughputs in Mbit/s. What the
optimizer returns, and why Algorithm 1's own convergence test fails, is in
:mod:`agents.negotiation.optimizer`.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from agents.negotiation.errors import NegotiationInputError

LOW_MBPS = 0.0
HIGH_MBPS = 100.0
Z_95 = 1.96


def tenant_utility(x_mbps, intents_mbps, alpha):
    """Eq. 4: :math:`U_i(x_i) = -\\alpha_i (x_i - d_i)^2` for every tenant (same shape as x)."""
    x = np.asarray(x_mbps, dtype=float)
    return -np.asarray(alpha, dtype=float) * (x - np.asarray(intents_mbps, dtype=float)) ** 2


def mediator_utility(x_mbps, gamma, beta_eq6=0.0, target_mbps=None):
    """Eq. 5: :math:`U_0 = -\\gamma\\sum_i(x_i - \\bar x)^2 - \\beta(\\bar x - x_t)^2`.

    Parameters
    ----------
    x_mbps : array_like, shape (..., n)
        Bids.
    gamma, beta_eq6 : float
        Consensus and target weights of Eq. 5 (``beta_eq6`` is Eq. 5's β, see the module docstring).
    target_mbps : float or None
        The mediator's preferred SLA; ``None`` drops the target term.

    Returns
    -------
    ndarray, shape (...)
    """
    x = np.asarray(x_mbps, dtype=float)
    mean = x.mean(axis=-1)
    u = -gamma * ((x - mean[..., None]) ** 2).sum(axis=-1)
    if target_mbps is not None:
        u = u - beta_eq6 * (mean - target_mbps) ** 2
    return u


def joint_objective(x_mbps, intents_mbps, alpha, gamma, beta_eq6=0.0, target_mbps=None, lam=1.0):
    """Eq. 6: :math:`\\sum_i U_i(x_i) + \\lambda U_0(x)` (to maximise), shape ``x.shape[:-1]``."""
    own = tenant_utility(x_mbps, intents_mbps, alpha).sum(axis=-1)
    return own + lam * mediator_utility(x_mbps, gamma, beta_eq6, target_mbps)


def eq7_direction(x_mbps, intents_mbps, alpha, gamma, beta=0.0, target_mbps=None):
    """The bracket of Eq. 7 (the gradient of the module's F), shaped like ``x_mbps``.

    :math:`2\\alpha_i(x_i-d_i) + 2\\gamma(x_i-\\bar x) + \\beta(\\bar x-x_t)`; with
    ``target_mbps=None`` the β term is dropped.
    """
    x = np.asarray(x_mbps, dtype=float)
    mean = x.mean(axis=-1, keepdims=True)
    g = 2.0 * np.asarray(alpha, dtype=float) * (x - intents_mbps) + 2.0 * gamma * (x - mean)
    if target_mbps is not None:
        g = g + beta * (mean - target_mbps)
    return g


def gradient_step(x_mbps, intents_mbps, alpha, gamma, beta=0.0, target_mbps=None, lr=0.01):
    """One update of Eq. 7 with the clamp to [0, 100] Mbit/s (vectorised over leading axes)."""
    g = eq7_direction(x_mbps, intents_mbps, alpha, gamma, beta, target_mbps)
    return np.clip(np.asarray(x_mbps, dtype=float) - lr * g, LOW_MBPS, HIGH_MBPS)


def confidence_interval(samples_mbps, z=Z_95):
    """Eq. 8: :math:`\\bar x^* \\pm z\\,s/\\sqrt R` over the last axis (s with ddof = 1).

    Returns
    -------
    (mean, low, high, s) : tuple of float or ndarray
    """
    x = np.asarray(samples_mbps, dtype=float)
    r = x.shape[-1]
    if r < 2:
        raise NegotiationInputError(f"confidence_interval: need at least 2 samples, got {r}")
    mean = x.mean(axis=-1)
    s = x.std(axis=-1, ddof=1)
    half = z * s / np.sqrt(r)
    return mean, mean - half, mean + half, s


# -- Algorithm 1 exactly as printed (the reference for the finding above) ------------------------
class Algorithm1Run(NamedTuple):
    """Outcome of :func:`algorithm1_as_printed`."""

    value: int | None
    """``floor(mean)`` on convergence, else ``None`` (the printed return values)."""
    iterations: int
    """Iterations run (k + 1 of the last k)."""
    sla_mbps: np.ndarray
    """The bids after the last iteration."""


def algorithm1_as_printed(intents_mbps, network_target_mbps, iterations=1000, eta=0.01,
                          alpha=7.0, gamma=7.0, initial_beta=0.5, increase_factor=0.01,
                          threshold=0.5) -> Algorithm1Run:
    """papers/004 App. A, Algorithm 1, line by line (a reference, deliberately not vectorised).

    The inner loop uses the average computed before it (line 17), so the update is Jacobi-style;
    the convergence test of line 27 compares the updated bids with that average.
    """
    sla = np.array(intents_mbps, dtype=float)
    initial_sla = sla.copy()
    n_agents = sla.size
    for k in range(iterations):
        current_average = sla.mean()
        betas = initial_beta + k * increase_factor
        network_adjustment = betas * (current_average - network_target_mbps)
        for i in range(n_agents):
            tenant_gradient = 2 * alpha * (sla[i] - initial_sla[i])
            consensus_gradient = 2 * gamma * (sla[i] - current_average)
            sla[i] = sla[i] - eta * (tenant_gradient + consensus_gradient + network_adjustment)
            sla[i] = min(max(sla[i], LOW_MBPS), HIGH_MBPS)
        if np.max(np.abs(sla - current_average)) < threshold:
            return Algorithm1Run(int(np.floor(current_average)), k + 1, sla)
    return Algorithm1Run(None, iterations, sla)
