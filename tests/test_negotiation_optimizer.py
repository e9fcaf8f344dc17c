"""The side-car optimizer 𝒪_in (papers/004 §3.3, Eq. 4–8, App. A Algorithm 1).

Oracles: the exact piecewise-linear solution :func:`optimum` (derivation in the module docstring of
``agents.negotiation.optimizer``), hand-derived values below, Eq. 6 itself (no feasible point beats
the fixed point), and the two iterative solvers against each other.
"""

import numpy as np
import pytest

from agents.negotiation import NegotiationInputError, SidecarOptimizer, optimum, optimum_allocation
from agents.negotiation.objective import (
    algorithm1_as_printed,
    confidence_interval,
    eq7_direction,
    gradient_step,
    joint_objective,
)


def random_case(rng, n_low=2, n_high=20, edges=True):
    """Random intents (some piled at 0 or 100 so the clamp is active), weights, β and target."""
    n = int(rng.integers(n_low, n_high + 1))
    d = rng.uniform(0, 100, n)
    if edges and rng.random() < 0.4:
        d[rng.random(n) < 0.5] = rng.choice([0.0, 100.0])
    w = rng.uniform(0.05, 1.0, n) if rng.random() < 0.5 else None
    target = float(rng.uniform(0, 100)) if rng.random() < 0.6 else None
    beta = float(rng.uniform(0, 40))          # up to > 2 gamma: clamping without edge intents
    return d, w, {"beta": beta, "target_mbps": target}


# -- closed form ---------------------------------------------------------------------------------
def test_hand_derived_spread_intents():
    # alpha = gamma = 7, no target: m = mean(d) = 160/3; x_i = m + alpha/(alpha+gamma) (d_i - m)
    d = [100.0, 50.0, 10.0]
    m = 160 / 3
    assert optimum(d) == pytest.approx(m, abs=1e-12)
    np.testing.assert_allclose(optimum_allocation(d), [m + (100 - m) / 2, m + (50 - m) / 2,
                                                       m + (10 - m) / 2], atol=1e-12)


def test_hand_derived_weighted_and_target():
    d = np.array([80.0, 20.0, 50.0])
    w = np.array([1.0, 0.25, 0.5])
    # no target: m = sum(w_i d_i) / sum(w_i) with w_i = alpha_i / (alpha_i + gamma)
    a = 7 * w
    wi = a / (a + 7)
    assert optimum(d, w) == pytest.approx((wi * d).sum() / wi.sum(), abs=1e-12)
    # equal alphas with target t: m = (2 alpha dbar + beta t) / (2 alpha + beta)
    assert optimum(d, beta=3.0, target_mbps=90.0) == pytest.approx(
        (14 * d.mean() + 3 * 90) / (14 + 3), abs=1e-12)


def test_hand_derived_clamped_case():
    # beta = 40 > 2 gamma, target 100, intents [100, 0]: b = (14 - 40) / 28, a_1 = 5400 / 28,
    # a_2 = 4000 / 28. Unclamped x_1 = 112 > 100, so tenant 1 sits at 100 and
    # m = (a_2 + 100) / (2 - b) = (4000 + 2800) / (56 + 26) = 6800 / 82.
    kw = {"beta": 40.0, "target_mbps": 100.0}
    assert optimum([100.0, 0.0], **kw) == pytest.approx(6800 / 82, abs=1e-12)
    x = optimum_allocation([100.0, 0.0], **kw)
    assert x[0] == 100.0 and x[1] == pytest.approx(2 * 6800 / 82 - 100, abs=1e-12)
    for method in ("fixed_point", "gradient"):
        res = SidecarOptimizer(method=method, **kw).solve([100.0, 0.0])
        assert res.consensus_mbps == pytest.approx(6800 / 82, abs=1e-7)


def test_closed_form_matches_vectorised_optimizer():
    rng = np.random.default_rng(20250701)
    for _ in range(300):
        d, w, kw = random_case(rng)
        res = SidecarOptimizer(restarts=20, **kw).solve(d, w, rng=rng)
        assert res.converged
        assert res.consensus_mbps == pytest.approx(optimum(d, w, **kw), abs=1e-7)
        np.testing.assert_allclose(res.per_tenant_mbps, optimum_allocation(d, w, **kw), atol=1e-7)


def test_closed_form_matches_eq7_iterated():
    rng = np.random.default_rng(7)
    for _ in range(40):
        d, w, kw = random_case(rng)
        res = SidecarOptimizer(method="gradient", restarts=10, tol_mbps=1e-11, **kw).solve(d, w)
        assert res.converged
        assert res.consensus_mbps == pytest.approx(optimum(d, w, **kw), abs=1e-6)


def test_fixed_point_maximises_eq6_over_the_box():
    # Eq. 7 is the gradient of -Eq. 6 with lambda = 1 and Eq. 5's beta = n beta / 2, so the
    # fixed point must beat every other point of [0, 100]^n on that objective.
    rng = np.random.default_rng(3)
    for _ in range(50):
        d, w, kw = random_case(rng)
        n = d.size
        alphas = 7.0 * (np.ones(n) if w is None else w)
        beta6 = n * kw["beta"] / 2
        x = optimum_allocation(d, w, **kw)
        best = joint_objective(x, d, alphas, 7.0, beta6, kw["target_mbps"])
        trials = np.clip(x + rng.normal(0, 5, (200, n)), 0, 100)
        assert (joint_objective(trials, d, alphas, 7.0, beta6, kw["target_mbps"])
                <= best + 1e-9).all()


def test_eq7_is_the_gradient_of_eq6():
    rng = np.random.default_rng(11)
    n, beta, t = 5, 2.5, 40.0
    d, x, alphas = rng.uniform(0, 100, n), rng.uniform(0, 100, n), rng.uniform(1, 9, n)
    h = 1e-5
    numeric = np.array([(joint_objective(x - h * e, d, alphas, 7.0, n * beta / 2, t)
                         - joint_objective(x + h * e, d, alphas, 7.0, n * beta / 2, t)) / (2 * h)
                        for e in np.eye(n)])
    np.testing.assert_allclose(eq7_direction(x, d, alphas, 7.0, beta, t), numeric, rtol=1e-6)


def test_gradient_step_clamps():
    x = gradient_step([99.9, 0.1], [100.0, 0.0], 7.0, 0.0, lr=10.0)
    np.testing.assert_array_equal(x, [100.0, 0.0])


# -- Eq. 8 interval --------------------------------------------------------------------------------
def test_interval_is_eq8():
    res = SidecarOptimizer(restarts=100).solve([70.0, 30.0, 45.0], rng=np.random.default_rng(1))
    half = 1.96 * res.std_mbps / np.sqrt(100)
    assert res.ci_high_mbps - res.restart_mean_mbps == pytest.approx(half)
    assert res.restart_mean_mbps - res.ci_low_mbps == pytest.approx(half)
    mean, low, high, s = confidence_interval([1.0, 2.0, 3.0])
    assert (mean, s) == (2.0, 1.0) and high - low == pytest.approx(2 * 1.96 / np.sqrt(3))


def test_interval_covers_optimum_at_its_nominal_rate():
    # Away from the edges the consensus is linear in the jittered intents, so the restart mean is
    # unbiased and the interval is a 95 % interval: over 400 cases the coverage is Binomial(400,
    # 0.95) — mean 380, sd 4.4 — and [360, 396] is ~4.5 / 3.6 sd wide.
    rng = np.random.default_rng(95)
    opt = SidecarOptimizer(restarts=100)
    hits = 0
    for _ in range(400):
        n = int(rng.integers(2, 21))
        d = rng.uniform(15, 85, n)
        res = opt.solve(d, rng=rng)
        hits += res.ci_low_mbps <= optimum(d) <= res.ci_high_mbps
    assert 360 <= hits <= 396


def test_interval_misses_an_optimum_at_the_edge():
    # documented limitation: at 100 Mbit/s the clamp makes every restart <= 100, the mean < 100
    res = SidecarOptimizer().solve([100.0] * 3, rng=np.random.default_rng(0))
    assert res.consensus_mbps == 100.0
    assert res.ci_high_mbps < 100.0


def test_same_seed_same_result_other_seed_other_interval():
    d = np.random.default_rng(5).uniform(0, 100, 12)
    opt = SidecarOptimizer()
    a = opt.solve(d, rng=np.random.default_rng(42))
    b = opt.solve(d, rng=np.random.default_rng(42))
    c = opt.solve(d, rng=np.random.default_rng(43))
    assert (a.ci_low_mbps, a.ci_high_mbps, a.std_mbps) == (b.ci_low_mbps, b.ci_high_mbps,
                                                           b.std_mbps)
    np.testing.assert_array_equal(a.per_tenant_mbps, b.per_tenant_mbps)
    assert a.ci_low_mbps != c.ci_low_mbps
    assert a.consensus_mbps == c.consensus_mbps          # the un-jittered optimum


# -- weights, sizes, bad input ---------------------------------------------------------------
def test_lower_weight_pulls_less():
    d = [90.0, 40.0, 30.0]
    values = [optimum(d, [w, 1.0, 1.0]) for w in (1.0, 0.5, 0.25, 0.1)]
    assert all(a > b for a, b in zip(values, values[1:]))
    assert values[-1] > 35.0          # a penalised tenant still counts


def test_one_tenant_gets_its_intent():
    res = SidecarOptimizer().solve([37.0], rng=np.random.default_rng(0))
    assert res.consensus_mbps == pytest.approx(37.0, abs=1e-12)
    assert res.ci_low_mbps < 37.0 < res.ci_high_mbps


def test_fifty_tenants():
    d = np.random.default_rng(50).uniform(0, 100, 50)
    res = SidecarOptimizer().solve(d, rng=np.random.default_rng(0))
    assert res.converged and res.per_tenant_mbps.shape == (50,)
    assert res.consensus_mbps == pytest.approx(optimum(d), abs=1e-9)
    assert res.ci_low_mbps < res.ci_high_mbps


@pytest.mark.parametrize("intents, words", [
    ([], "at least one tenant"),
    ([[10.0, 20.0]], "1-D"),
    ([50.0, float("nan")], "intents_mbps[1]"),
    ([50.0, 100.5], "[0, 100]"),
    ([-1.0, 50.0], "intents_mbps[0]"),
    (["fifty", 20.0], "not numbers"),
])
def test_bad_intents(intents, words):
    with pytest.raises(NegotiationInputError) as info:
        SidecarOptimizer().solve(intents)
    assert words in str(info.value)
    with pytest.raises(NegotiationInputError):
        optimum(intents)


@pytest.mark.parametrize("kwargs, weights", [
    ({}, [1.0]),
    ({}, [1.0, -0.5]),
    ({}, [0.0, 0.0]),
    ({"restarts": 1}, None),
    ({"method": "adam"}, None),
    ({"method": "gradient", "lr": 0.1}, None),      # 0.1 * (14 + 14 + 0.5) >= 2
    ({"target_mbps": 120.0}, None),
    ({"gamma": 0.0}, [1.0, 0.0]),
])
def test_bad_parameters(kwargs, weights):
    with pytest.raises(NegotiationInputError):
        SidecarOptimizer(**kwargs).solve([20.0, 80.0], weights)


# -- Algorithm 1 as printed ------------------------------------------------------------------------
@pytest.mark.parametrize("target", [0.0, 50.0, 100.0])
def test_algorithm1_never_converges_on_spread_intents(target):
    # x_i - xbar -> alpha / (alpha + gamma) (d_i - dbar) = (d_i - dbar) / 2, whatever beta:
    # max |d_i - dbar| = 100 - 160/3 = 46.67, so the spread stays 23.33 >> 0.5 threshold
    run = algorithm1_as_printed([100.0, 50.0, 10.0], target)
    assert run.value is None and run.iterations == 1000
    spread = np.abs(run.sla_mbps - run.sla_mbps.mean()).max()
    assert spread == pytest.approx((100 - 160 / 3) / 2, abs=1e-9)


def test_algorithm1_converges_only_for_intents_within_1_mbps():
    # the test passes iff max |d_i - dbar| / 2 < 0.5
    ok = algorithm1_as_printed([49.02, 50.0, 50.98], 50.0)
    assert ok.value == 50 and ok.iterations < 100
    assert algorithm1_as_printed([49.0, 50.0, 51.02], 50.0).value is None   # 1.013 / 2 > 0.5


def test_algorithm1_mean_depends_on_the_iteration_count():
    # beta_k = 0.5 + 0.01 k grows, so the mean drifts to the target: the "consensus" depends on
    # when the loop stops. Unclamped, the mean follows m <- rho_k m + (1 - rho_k) u_k exactly, with
    # rho_k = 1 - eta (2 alpha + beta_k) and u_k = (2 alpha dbar + beta_k t) / (2 alpha + beta_k);
    # u_k falls by r = 0.01 du/dbeta per step, so after the last step (k = K - 1) the mean lags
    # behind u_{K-1} by rho r / (1 - rho).
    d, t, dbar = [100.0, 50.0, 10.0], 0.0, 160 / 3
    means = {}
    for iters in (300, 1000):
        beta = 0.5 + 0.01 * (iters - 1)
        u = 14 * dbar / (14 + beta)
        rate = 0.01 * 14 * dbar / (14 + beta) ** 2
        rho = 1 - 0.01 * (14 + beta)
        means[iters] = algorithm1_as_printed(d, t, iterations=iters).sla_mbps.mean()
        assert means[iters] == pytest.approx(u + rho * rate / (1 - rho), abs=0.01)
    assert means[300] - means[1000] > 10.0
    assert optimum(d) == pytest.approx(dbar)
