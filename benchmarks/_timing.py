"""Timing that survives a noisy machine (issue 18), shared by the benchmarks.

* the runs being compared are **interleaved** (A B C, B C A, C A B, …: each round rotates the
  order, so a burst of load from elsewhere hits every case alike) and repeated (≥ 5);
* each run records **wall** time and the process's **CPU** time (``time.process_time``: user +
  system of this process, far less sensitive to other processes than wall time);
* figures are reported as the **minimum** (the best the code does; noise only adds) and the
  **median**;
* overheads are **ratios** measured in one process: per round the ratio of the paired runs, then
  the median of those ratios (a slow round slows both members of its pair).
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable


def timed(fn: Callable[[], object]) -> tuple[float, float, object]:
    """(wall s, CPU s, result) of one call."""
    c0, t0 = time.process_time(), time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, time.process_time() - c0, out


def interleave(cases: dict[str, Callable[[], tuple]], repeat: int,
               keep: Callable[[str, object], None] | None = None) -> dict[str, list[tuple]]:
    """Run every case ``repeat`` times, interleaved and rotated; {label: [(wall, cpu), …]}.

    Each case returns ``(wall s, CPU s, result)`` — it times what it measures itself (e.g. the
    run without the build; :func:`timed` times a whole call). ``keep(label, result)`` sees every
    result (e.g. to keep the last simulation).
    """
    labels = list(cases)
    out: dict[str, list[tuple]] = {k: [] for k in labels}
    for r in range(repeat):
        for k in labels[r % len(labels):] + labels[:r % len(labels)]:
            wall, cpu, res = cases[k]()
            out[k].append((wall, cpu))
            if keep is not None:
                keep(k, res)
    return out


def summary(samples: list[tuple]) -> dict[str, float]:
    """min and median of wall and CPU."""
    w = [s[0] for s in samples]
    c = [s[1] for s in samples]
    return {"wall_min": min(w), "wall_med": statistics.median(w), "cpu_min": min(c),
            "cpu_med": statistics.median(c), "n": len(samples)}


def paired_ratio(a: list[tuple], b: list[tuple], which: int = 1) -> tuple[float, float]:
    """(median, min) over rounds of a_i / b_i (``which``: 0 wall, 1 CPU)."""
    r = [x[which] / y[which] for x, y in zip(a, b) if y[which] > 0]
    return statistics.median(r), min(r)


def speed_line(label: str, samples: list[tuple], sim_s: float, width: int = 34,
               unit: str = "sim-s/s") -> str:
    """``label: wall min/med s (speed), CPU min/med s (speed)`` with speed = sim_s / time."""
    s = summary(samples)
    return (f"{label:<{width}} wall min {s['wall_min']:6.2f} s med {s['wall_med']:6.2f} s "
            f"({sim_s / s['wall_min']:6.1f} / {sim_s / s['wall_med']:6.1f} {unit}) | "
            f"CPU min {s['cpu_min']:6.2f} s med {s['cpu_med']:6.2f} s "
            f"({sim_s / s['cpu_min']:6.1f} / {sim_s / s['cpu_med']:6.1f})  n={s['n']}")
