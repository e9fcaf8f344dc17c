r"""The side-car optimizer 𝒪_in of the Type II symbiotic agent (papers/004 §3.3, Eq. 4–8, App. A).

Tenants ``i = 1..n`` bid a throughput :math:`x_i` in [0, 100] Mbit/s for one shared slice. Each
tenant wants its intent :math:`d_i` (Eq. 4), the mediator wants the bids close to their mean and,
optionally, the mean close to a network target :math:`x_t` (Eq. 5):

.. math::

    U_i(x_i) = -\alpha_i (x_i - d_i)^2, \qquad
    U_0(x) = -\gamma \sum_i (x_i - \bar x)^2 - \beta_6 (\bar x - x_t)^2,

    \max_x \sum_i U_i(x_i) + \lambda U_0(x) \quad \text{(Eq. 6)},

    x_i \leftarrow \operatorname{clip}_{[0,100]}\bigl(x_i - \eta\,[2\alpha_i(x_i - d_i)
        + 2\gamma(x_i - \bar x) + \beta(\bar x - x_t)]\bigr) \quad \text{(Eq. 7)}.

Eq. 7 is the exact gradient of Eq. 6 only with :math:`\lambda = 1` and :math:`\beta_6 = n\beta/2`
(:math:`\partial_{x_i}\beta_6(\bar x - x_t)^2 = 2\beta_6(\bar x - x_t)/n`); this module follows
Eq. 7 and :func:`joint_objective` takes ``beta_eq6`` explicitly.

What the paper's Algorithm 1 does, and why we do not return what it returns
---------------------------------------------------------------------------
Algorithm 1 (App. A) iterates Eq. 7 with :math:`\alpha = \gamma = 7`, :math:`\eta = 0.01`, a β that
*grows* every iteration (:math:`\beta_k = 0.5 + 0.01 k`) and declares convergence when
:math:`\max_i |x_i - \bar x| < 0.5`, returning :math:`\lfloor\bar x\rfloor`, else ``None`` after
1000 iterations. At a fixed point without clamping each bracket vanishes,
:math:`2\alpha(x_i - d_i) + 2\gamma(x_i - \bar x) + \beta(\bar x - x_t) = 0`; their mean over i is
:math:`2\alpha(\bar x - \bar d) + \beta(\bar x - x_t) = 0`, and subtracting it leaves
:math:`2\alpha(x_i - \bar x - (d_i - \bar d)) + 2\gamma(x_i - \bar x) = 0`, i.e.

.. math:: x_i - \bar x = \frac{\alpha}{\alpha + \gamma}\,(d_i - \bar d)

independently of β: each tenant's own pull keeps *half* of the intent spread when α = γ. The test
therefore passes only when :math:`\max_i|d_i - \bar d| < 1` Mbit/s — intents 100/50/10 keep a
spread of 23.3 Mbit/s and Algorithm 1 returns ``None`` (:func:`algorithm1_as_printed`, checked in
``tests/test_negotiation_optimizer.py``). And because :math:`\beta_k` grows, its mean drifts
towards :math:`x_t` with the iteration count (:math:`\bar x \to (2\alpha\bar d + \beta_k x_t) /
(2\alpha + \beta_k)`), so the value it would return depends on when it stops.

Our choice: the consensus is the mean of the fixed point of Eq. 7 with a *constant* β
-----------------------------------------------------------------------------------
The fixed point of the clamped Eq. 7 is the unique minimiser over the box :math:`[0,100]^n` of the
strictly convex :math:`F(x) = \sum_i \alpha_i(x_i - d_i)^2 + \gamma\sum_i(x_i - \bar x)^2 +
\tfrac{n\beta}{2}(\bar x - x_t)^2` (its gradient is Eq. 7's bracket; strictly convex for
:math:`\gamma > 0` and :math:`\alpha_i > 0` for at least one tenant). The *consensus* we return
is its mean :math:`m = \bar x^*`: the theoretical optimal consensus (papers/003 §IV-B) against
which every MAE is measured (:func:`optimum`).

**Closed form.** Write :math:`g_i = 2\alpha_i(x_i - d_i) + 2\gamma(x_i - m) + \beta(m - x_t)`
(:math:`\beta := 0` when there is no target). Projected gradient is at rest iff for each i either
:math:`g_i = 0` with :math:`x_i` inside, or :math:`x_i = 0, g_i \ge 0`, or
:math:`x_i = 100, g_i \le 0`. Since :math:`g_i` increases in :math:`x_i` (slope
:math:`2\alpha_i + 2\gamma > 0`) this is :math:`x_i = \operatorname{clip}(a_i + b_i m, 0, 100)`, the
root of :math:`g_i = 0` clipped, with

.. math::

    a_i = \frac{2\alpha_i d_i + \beta x_t}{2(\alpha_i + \gamma)}, \qquad
    b_i = \frac{2\gamma - \beta}{2(\alpha_i + \gamma)} < 1,

and :math:`m` solves the scalar equation
:math:`h(m) = m - \tfrac1n\sum_i\operatorname{clip}(a_i + b_i m, 0, 100) = 0`. :math:`h` is
piecewise linear with slope :math:`1 - \tfrac1n\sum_{i\,\text{free}} b_i > 0` and
:math:`h(0) \le 0 \le h(100)`: one root. On the segment where the set F of unclamped
tenants and the set U of tenants clamped at 100 are fixed,

.. math:: m = \frac{\sum_{i\in F} a_i + 100\,|U|}{n - \sum_{i\in F} b_i}.

Without clamping (always the case for :math:`d_i \in [0,100]` and :math:`\beta \le 2\gamma`, since
then :math:`a_i + b_i m` is a convex combination of :math:`d_i`, :math:`m` and :math:`x_t`):

.. math::

    m = \frac{\sum_i w_i d_i + \beta x_t \sum_i c_i}{\sum_i w_i + \beta\sum_i c_i}, \quad
    w_i = \frac{\alpha_i}{\alpha_i + \gamma}, \; c_i = \frac{1}{2(\alpha_i + \gamma)};

with no target it is the intent mean weighted by :math:`w_i` — the plain mean for equal
:math:`\alpha_i`, and a tenant whose weight (:math:`\alpha_i = \alpha\,\text{weight}_i`, e.g. after
arbitral penalties) is lower pulls less. :func:`optimum` solves it exactly by enumerating the
breakpoints; :meth:`SidecarOptimizer.solve` solves it for all restarts at once by safeguarded
Newton iteration on :math:`h` (exact on each linear piece, usually one or two steps), and
``method="gradient"`` iterates Eq. 7 itself, vectorised over restarts × tenants, to a fixed point.

**Restarts and Eq. 8.** Restarts from jittered *starting points* of a strictly convex problem all
reach the same minimiser (s = 0, an empty interval), so, as Eq. 8's text says, each restart
perturbs the *demands*: :math:`d^{(r)} = d + \varepsilon^{(r)}`,
:math:`\varepsilon \sim \mathcal N(0, \sigma_j^2)` (σ_j = ``jitter_mbps``, our choice: the paper
gives no value). The interval is :math:`\bar x^* \pm 1.96\,s/\sqrt R` over the restart consensus
values. Near 0 or 100 Mbit/s the clamp makes the jittered consensus biased towards the interior,
so the interval may miss an optimum that sits at an edge.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from agents.negotiation.errors import NegotiationInputError
from agents.negotiation.objective import (
    HIGH_MBPS,
    LOW_MBPS,
    Algorithm1Run,
    algorithm1_as_printed,
    confidence_interval,
    eq7_direction,
    gradient_step,
    joint_objective,
    mediator_utility,
    tenant_utility,
)

__all__ = [
    "Algorithm1Run", "OptimizerResult", "SidecarOptimizer", "algorithm1_as_printed",
    "confidence_interval", "eq7_direction", "gradient_step", "joint_objective",
    "mediator_utility", "optimum", "optimum_allocation", "tenant_utility",
]


# -- the closed form -----------------------------------------------------------------------------
def _check_intents(intents_mbps) -> np.ndarray:
    try:
        d = np.asarray(intents_mbps, dtype=float)
    except (TypeError, ValueError) as exc:
        raise NegotiationInputError(f"intents_mbps: not numbers ({exc})") from None
    if d.ndim != 1 or d.size == 0:
        raise NegotiationInputError(
            f"intents_mbps: need a 1-D array of at least one tenant, got shape {d.shape}")
    bad = ~np.isfinite(d) | (d < LOW_MBPS) | (d > HIGH_MBPS)
    if bad.any():
        i = int(np.argmax(bad))
        raise NegotiationInputError(
            f"intents_mbps[{i}]={d[i]!r}: must be a finite throughput in [0, 100] Mbit/s")
    return d


def _tenant_alphas(n: int, alpha: float, weights) -> np.ndarray:
    if weights is None:
        return np.full(n, float(alpha))
    w = np.asarray(weights, dtype=float)
    if w.shape != (n,):
        raise NegotiationInputError(f"weights: need shape ({n},), got {w.shape}")
    if not np.isfinite(w).all() or (w < 0).any():
        raise NegotiationInputError("weights: must be finite and >= 0")
    return float(alpha) * w


def _affine(d, alphas, gamma, beta, target):
    """Clipped-root coefficients: x_i = clip(a_i + b_i m) (module docstring); d may be (..., n)."""
    beta_eff = 0.0 if target is None else float(beta)
    denom = 2.0 * (alphas + gamma)                         # [n]
    a = (2.0 * alphas * d + beta_eff * (0.0 if target is None else target)) / denom
    b = (2.0 * gamma - beta_eff) / denom                   # [n]
    return a, b


def _check_params(alpha, gamma, beta, alphas, target):
    if not (alpha > 0 and gamma > 0 and beta >= 0):
        raise NegotiationInputError(
            f"need alpha > 0, gamma > 0, beta >= 0; got {alpha}, {gamma}, {beta}")
    if target is not None and not (LOW_MBPS <= target <= HIGH_MBPS):
        raise NegotiationInputError(f"target_mbps={target!r}: must be in [0, 100] Mbit/s")
    if not (alphas > 0).any() and (target is None or beta == 0):
        raise NegotiationInputError("weights: at least one tenant needs a positive weight")


def optimum(intents_mbps, weights=None, *, alpha=7.0, gamma=7.0, beta=0.5,
            target_mbps=None) -> float:
    """The theoretical optimal consensus: the mean of the clamped Eq. 7 fixed point, exactly.

    Enumerates the breakpoints of the piecewise-linear :math:`h(m)` (module docstring), finds the
    linear piece holding its root and applies that piece's closed form. Independent of the
    iterative solvers in :class:`SidecarOptimizer`, it is their test oracle.

    Parameters
    ----------
    intents_mbps : array_like, shape (n,)
        Tenant intents :math:`d_i` in [0, 100] Mbit/s.
    weights : array_like, shape (n,), optional
        Per-tenant weights ≥ 0 (:math:`\\alpha_i = \\alpha\\,w_i`); default all 1.
    alpha, gamma, beta : float
        Eq. 7's α, γ, β (β is used only with a target).
    target_mbps : float or None
        The mediator's :math:`x_t`; ``None`` (default) drops the target term.

    Returns
    -------
    float
        :math:`m = \\bar x^*` in Mbit/s.
    """
    return float(optimum_allocation(intents_mbps, weights, alpha=alpha, gamma=gamma, beta=beta,
                                    target_mbps=target_mbps).mean())


def optimum_allocation(intents_mbps, weights=None, *, alpha=7.0, gamma=7.0, beta=0.5,
                       target_mbps=None) -> np.ndarray:
    """The per-tenant fixed point :math:`x^*` of the clamped Eq. 7 (see :func:`optimum`)."""
    d = _check_intents(intents_mbps)
    alphas = _tenant_alphas(d.size, alpha, weights)
    _check_params(alpha, gamma, beta, alphas, target_mbps)
    a, b = _affine(d, alphas, gamma, beta, target_mbps)
    n = d.size
    nz = b != 0
    cand = np.concatenate([-a[nz] / b[nz], (HIGH_MBPS - a[nz]) / b[nz], [LOW_MBPS, HIGH_MBPS]])
    cand = np.unique(cand[(cand >= LOW_MBPS) & (cand <= HIGH_MBPS)])          # sorted
    h = cand - np.clip(a + b * cand[:, None], LOW_MBPS, HIGH_MBPS).mean(axis=1)  # increasing
    j = min(int(np.searchsorted(h, 0.0)), cand.size - 1)   # h(100) >= 0 up to rounding
    if j < cand.size and h[j] == 0.0:
        m = cand[j]
    else:
        mid = 0.5 * (cand[j - 1] + cand[j])                # the piece holding the root
        y = a + b * mid
        free = (y > LOW_MBPS) & (y < HIGH_MBPS)
        m = (a[free].sum() + HIGH_MBPS * (y >= HIGH_MBPS).sum()) / (n - b[free].sum())
    return np.clip(a + b * m, LOW_MBPS, HIGH_MBPS)


# -- the vectorised optimizer ---------------------------------------------------------------------
@dataclass(frozen=True)
class OptimizerResult:
    """What 𝒪_in hands to the negotiation (all throughputs in Mbit/s).

    Attributes
    ----------
    consensus_mbps : float
        Mean of the fixed point for the un-jittered intents (= :func:`optimum`).
    restart_mean_mbps, ci_low_mbps, ci_high_mbps, std_mbps : float
        Eq. 8 over the R jittered restarts: :math:`\\bar x^*`,
        :math:`\\bar x^* \\mp 1.96 s/\\sqrt R` and :math:`s`.
    restarts : int
        R.
    iterations : int
        Iterations of the solver (Newton steps, or Eq. 7 updates with ``method="gradient"``).
    converged : bool
        Every restart met the tolerance within the iteration cap.
    per_tenant_mbps : ndarray, shape (n,)
        The fixed point :math:`x^*` for the un-jittered intents.
    method : str
        ``"fixed_point"`` or ``"gradient"``.
    """

    consensus_mbps: float
    restart_mean_mbps: float
    ci_low_mbps: float
    ci_high_mbps: float
    std_mbps: float
    restarts: int
    iterations: int
    converged: bool
    per_tenant_mbps: np.ndarray
    method: str

    @property
    def interval(self) -> tuple[float, float]:
        """``(ci_low_mbps, ci_high_mbps)``."""
        return self.ci_low_mbps, self.ci_high_mbps


class SidecarOptimizer:
    """𝒪_in: Eq. 7's fixed point for R jittered restarts at once, and Eq. 8's interval.

    Parameters
    ----------
    alpha, gamma : float
        Eq. 7's α (per tenant: α × weight) and γ; Algorithm 1 uses 7 and 7.
    beta : float
        Eq. 7's β, constant (not Algorithm 1's growing β); used only with ``target_mbps``.
    target_mbps : float or None
        Mediator's preferred SLA :math:`x_t`; ``None`` drops the target term.
    lr : float
        η of Eq. 7, used by ``method="gradient"`` (Algorithm 1: 0.01).
    restarts : int
        R ≥ 2 (paper: 100).
    jitter_mbps : float
        Standard deviation of the Gaussian perturbation of the intents per restart (our choice).
    method : {"fixed_point", "gradient"}
        Newton on the mean's scalar equation, or Eq. 7 iterated to a fixed point.
    tol_mbps : float
        Convergence tolerance: the Newton step on m, or the largest Eq. 7 step (the distance to
        the fixed point is then at most step / (1 - contraction)).
    max_iter : int
        Iteration cap.
    rng : numpy.random.Generator, optional
        Default generator of :meth:`solve`; without one, each call uses ``default_rng(0)``.
    """

    def __init__(self, alpha=7.0, gamma=7.0, beta=0.5, target_mbps=None, lr=0.01, restarts=100,
                 jitter_mbps=5.0, method="fixed_point", tol_mbps=1e-9, max_iter=None, rng=None):
        if method not in ("fixed_point", "gradient"):
            raise NegotiationInputError(f"method={method!r}: use 'fixed_point' or 'gradient'")
        if int(restarts) < 2 or jitter_mbps < 0 or lr <= 0:
            raise NegotiationInputError(
                f"need restarts >= 2, jitter_mbps >= 0, lr > 0; got {restarts}, {jitter_mbps}, "
                f"{lr}")
        self.alpha, self.gamma, self.beta = float(alpha), float(gamma), float(beta)
        self.target_mbps = None if target_mbps is None else float(target_mbps)
        self.lr, self.restarts, self.jitter_mbps = float(lr), int(restarts), float(jitter_mbps)
        self.method, self.tol_mbps = method, float(tol_mbps)
        self.max_iter = int(max_iter or (100 if method == "fixed_point" else 100_000))
        self.rng = rng

    def params(self) -> dict:
        """Keyword arguments of :func:`optimum` matching this optimizer."""
        return {"alpha": self.alpha, "gamma": self.gamma, "beta": self.beta,
                "target_mbps": self.target_mbps}

    def optimum(self, intents_mbps, weights=None) -> float:
        """:func:`optimum` with this optimizer's parameters."""
        return optimum(intents_mbps, weights, **self.params())

    def solve(self, intents_mbps, weights=None, rng=None) -> OptimizerResult:
        """Run 𝒪_in: un-jittered fixed point + R jittered restarts, Eq. 8's interval.

        Parameters
        ----------
        intents_mbps : array_like, shape (n,)
            The extracted bids :math:`x^{(0)}` (= intents :math:`d_i`), in [0, 100] Mbit/s.
        weights : array_like, shape (n,), optional
            Per-tenant weights ≥ 0 (arbitral penalties); default all 1.
        rng : numpy.random.Generator, optional
            Source of the jitter; same generator state ⇒ identical result.

        Returns
        -------
        OptimizerResult
        """
        d = _check_intents(intents_mbps)
        alphas = _tenant_alphas(d.size, self.alpha, weights)
        _check_params(self.alpha, self.gamma, self.beta, alphas, self.target_mbps)
        if rng is None:
            rng = self.rng if self.rng is not None else np.random.default_rng(0)
        demands = np.empty((self.restarts + 1, d.size))                      # [R + 1, n]
        demands[0] = d
        demands[1:] = d + self.jitter_mbps * rng.standard_normal((self.restarts, d.size))
        if self.method == "fixed_point":
            x, its, ok = self._newton(demands, alphas)
        else:
            x, its, ok = self._gradient(demands, alphas)
        means = x.mean(axis=1)                                               # [R + 1]
        mean, low, high, s = confidence_interval(means[1:])
        return OptimizerResult(float(means[0]), float(mean), float(low), float(high), float(s),
                               self.restarts, its, ok, x[0], self.method)

    def _newton(self, demands, alphas):
        """Safeguarded Newton on h(m) = m - mean(clip(a + b m)) for every row at once."""
        a, b = _affine(demands, alphas, self.gamma, self.beta, self.target_mbps)  # [R+1, n], [n]
        n = demands.shape[1]
        m = a.sum(axis=1) / (n - b.sum())          # the unclamped closed form, [R + 1]
        lo = np.zeros_like(m)
        hi = np.full_like(m, HIGH_MBPS)
        for it in range(1, self.max_iter + 1):
            y = a + b * m[:, None]                                             # [R + 1, n]
            x = np.clip(y, LOW_MBPS, HIGH_MBPS)
            h = m - x.mean(axis=1)
            free = (y > LOW_MBPS) & (y < HIGH_MBPS)
            slope = 1.0 - (free * b).sum(axis=1) / n            # h'(m) > 0 on this piece
            done = np.abs(h) / slope <= self.tol_mbps           # Newton step below tol
            if done.all():
                return x, it, True
            lo = np.where(h < 0, m, lo)
            hi = np.where(h > 0, m, hi)
            step = m - h / slope
            step = np.where((step > lo) & (step < hi), step, 0.5 * (lo + hi))
            m = np.where(done, m, step)                        # finished rows stay put
        return np.clip(a + b * m[:, None], LOW_MBPS, HIGH_MBPS), self.max_iter, False

    def _gradient(self, demands, alphas):
        """Eq. 7 with the clamp, vectorised over restarts × tenants, until the step < tol."""
        lipschitz = 2.0 * alphas.max() + 2.0 * self.gamma + self.beta   # bound on F's Hessian
        if self.lr * lipschitz >= 2.0:
            raise NegotiationInputError(
                f"lr={self.lr}: Eq. 7 diverges for lr >= 2 / {lipschitz:g} (2 max alpha_i "
                "+ 2 gamma + beta)")
        x = np.clip(demands, LOW_MBPS, HIGH_MBPS)
        for it in range(1, self.max_iter + 1):
            new = gradient_step(x, demands, alphas, self.gamma, self.beta, self.target_mbps,
                                self.lr)
            step = np.abs(new - x).max()
            x = new
            if step <= self.tol_mbps:
                return x, it, True
        return x, self.max_iter, False
