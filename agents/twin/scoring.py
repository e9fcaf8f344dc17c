"""Error measures and the success criterion of the twin tasks (papers/000 §IV: error < 10 %).

Every measure is a dimensionless relative error; a run succeeds when it is below
:data:`SUCCESS_THRESHOLD`.

* SINR answers (power control, new site, each level of the trade-off) — the mean absolute
  relative error of the **linear** SINR over UEs,

  .. math:: e = \\frac{1}{U} \\sum_u \\frac{|\\hat\\gamma_u - \\gamma_u|}{\\gamma_u},
            \\quad \\gamma = 10^{\\mathrm{SINR_{dB}}/10}

  (10 % of linear SINR is 0.41 dB; a UE attached to the wrong cell typically costs it 50–100 %).
* Shutdown — the relative error of the **energy saving**: the answer is the network energy Ê
  [kWh over one hour], the saving is E0 − Ê with E0 the measured baseline (given in the inputs),

  .. math:: e = \\frac{|(E_0 - \\hat E) - (E_0 - E)|}{E_0 - E} = \\frac{|\\hat E - E|}{E_0 - E}

  (the saving of one site is ~7 % of the network energy: a relative error on the total would pass
  an answer that ignores the shutdown).
* Trade-off — the worst, over the K levels, of the energy relative error |Ê_k − E_k| / E_k and
  the SINR error above.

A result that is not a JSON object with the right keys, the right shape and finite numbers is
rejected before scoring (:class:`ResultError`, the reason recorded as the run's failure).
"""

from __future__ import annotations

import math

import numpy as np

SUCCESS_THRESHOLD = 0.10
"""The paper's success criterion: error < 10 %."""


class ResultError(ValueError):
    """A ``result.json`` that cannot be scored; the message says what is wrong."""


def _vector(result: dict, key: str, n: int) -> np.ndarray:
    if key not in result:
        raise ResultError(f"result.json has no key {key!r} (keys: {sorted(result)[:8]})")
    try:
        v = np.asarray(result[key], dtype=float)
    except (TypeError, ValueError) as exc:
        raise ResultError(f"{key}: not numbers ({exc})") from None
    if v.shape != (n,):
        raise ResultError(f"{key}: shape {v.shape}, expected ({n},)")
    if not np.all(np.isfinite(v)):
        raise ResultError(f"{key}: {int((~np.isfinite(v)).sum())} value(s) NaN or infinite")
    return v


def _scalar(result: dict, key: str) -> float:
    if key not in result:
        raise ResultError(f"result.json has no key {key!r} (keys: {sorted(result)[:8]})")
    v = result[key]
    if isinstance(v, (list, tuple)) and len(v) == 1:
        v = v[0]
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        raise ResultError(f"{key}: expected a number, got {type(v).__name__}")
    if not math.isfinite(v):
        raise ResultError(f"{key}: {v} is not finite")
    return float(v)


def sinr_error(est_db: np.ndarray, true_db: np.ndarray) -> float:
    """Mean absolute relative error of linear SINR over UEs (dimensionless).

    Parameters
    ----------
    est_db, true_db : ndarray, shape [U]
        Estimated and true SINR [dB].

    Returns
    -------
    float
    """
    g_hat = 10.0 ** (np.asarray(est_db, float) / 10.0)
    g = 10.0 ** (np.asarray(true_db, float) / 10.0)
    return float(np.mean(np.abs(g_hat - g) / g))


def _matrix(result: dict, key: str, k: int, n: int) -> np.ndarray:
    if key not in result:
        raise ResultError(f"result.json has no key {key!r} (keys: {sorted(result)[:8]})")
    try:
        m = np.asarray(result[key], dtype=float)
    except (TypeError, ValueError) as exc:
        raise ResultError(f"{key}: not a K x U array of numbers ({exc})") from None
    if m.shape != (k, n):
        raise ResultError(f"{key}: shape {m.shape}, expected ({k}, {n})")
    if not np.all(np.isfinite(m)):
        raise ResultError(f"{key}: {int((~np.isfinite(m)).sum())} value(s) NaN or infinite")
    return m


def score(task: str, result, truth: dict, baseline_energy_kwh: float | None = None,
          saving: bool = True) -> float:
    """Error of a result against the ground truth (see the module docstring).

    Parameters
    ----------
    task : str
        ``power``, ``shutdown``, ``tradeoff`` or ``new_site``.
    result : object
        The parsed ``result.json``.
    truth : dict
        The ground truth in the same format.
    baseline_energy_kwh : float, optional
        E0 of the shutdown task [kWh].
    saving : bool
        Shutdown only: score the saving (``True``) or, for the null policy of the sanity check
        (no saving), the relative error of the energy itself.

    Returns
    -------
    float
        Dimensionless relative error (success: < :data:`SUCCESS_THRESHOLD`).

    Raises
    ------
    ResultError
        The result has the wrong type, keys, shape, or non-finite values.
    """
    if not isinstance(result, dict):
        raise ResultError(f"result.json holds a {type(result).__name__}, not an object")
    if task in ("power", "new_site"):
        n = len(truth["sinr_db"])
        return sinr_error(_vector(result, "sinr_db", n), np.asarray(truth["sinr_db"]))
    if task == "shutdown":
        e_hat, e = _scalar(result, "energy_kwh"), float(truth["energy_kwh"])
        if saving:
            return abs(e_hat - e) / (float(baseline_energy_kwh) - e)
        return abs(e_hat - e) / e
    if task == "tradeoff":
        e_true = np.asarray(truth["energy_kwh"], float)
        s_true = np.asarray(truth["sinr_db"], float)
        k, n = s_true.shape
        e_hat = _vector(result, "energy_kwh", k)
        s_hat = _matrix(result, "sinr_db", k, n)
        errs = [abs(e_hat[i] - e_true[i]) / e_true[i] for i in range(k)]
        errs += [sinr_error(s_hat[i], s_true[i]) for i in range(k)]
        return float(max(errs))
    raise ValueError(f"unknown task {task!r}")


def success(error: float | None) -> bool:
    """``error < 10 %`` (``None``, i.e. no scorable result, is a failure)."""
    return error is not None and math.isfinite(error) and error < SUCCESS_THRESHOLD
