"""Units: the integer-microsecond clock and dB/linear conversions.

The SimPy clock of simran counts **integer microseconds** (design §2). Scenario files speak in
milliseconds or seconds; they are converted exactly once, at load time, with the helpers below.
Float time arithmetic never enters the kernel: ``0.005 * k`` drifts, integers do not.
"""

from __future__ import annotations

import numpy as np

US_PER_MS = 1_000
US_PER_S = 1_000_000


def ms_to_us(ms: float) -> int:
    """Convert milliseconds to integer microseconds (rounded to the nearest µs)."""
    return int(round(float(ms) * US_PER_MS))


def s_to_us(s: float) -> int:
    """Convert seconds to integer microseconds (rounded to the nearest µs)."""
    return int(round(float(s) * US_PER_S))


def us_to_s(us: int | np.ndarray) -> float | np.ndarray:
    """Convert integer microseconds to seconds (for reporting only)."""
    return np.asarray(us) / US_PER_S if isinstance(us, np.ndarray) else us / US_PER_S


def db_to_lin(x_db):
    """10^(x/10), elementwise."""
    return np.power(10.0, np.asarray(x_db, dtype=float) / 10.0)


def lin_to_db(x_lin):
    """10·log10(x), elementwise; zero maps to -inf without a warning."""
    with np.errstate(divide="ignore"):
        return 10.0 * np.log10(np.asarray(x_lin, dtype=float))


def dbm_to_w(x_dbm):
    """Power in dBm to watts."""
    return db_to_lin(np.asarray(x_dbm, dtype=float) - 30.0)


def w_to_dbm(x_w):
    """Power in watts to dBm."""
    return lin_to_db(x_w) + 30.0
