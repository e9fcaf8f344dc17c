"""What the examples share: a small one-cell network as a scenario dict, and a summary printer.

Not an example itself. The scenarios are built in Python (:meth:`simran.Scenario.from_dict`),
exactly what a TOML file would say, so each example is one self-contained file.
"""

from __future__ import annotations


def one_cell(duration_s: float, agents: list[dict], *, quotas=(50.0, 30.0),
             events: list[dict] | None = None, seed: int = 1) -> dict:
    """One omni cell, 40 MHz at 30 kHz (106 PRB), an eMBB slice (6 full-buffer phones) and an IoT
    slice (3 sensors at 2 Mbit/s each)."""
    return {
        "name": "example", "simulation": {"duration_s": duration_s, "seed": seed},
        "network": {"rings": 0, "sectors": 1, "bandwidth_mhz": 40, "scs_khz": 30},
        "slices": [{"name": "embb", "quota_pct": quotas[0], "policy": "pf"},
                   {"name": "iot", "quota_pct": quotas[1], "policy": "rr"}],
        "ue_groups": [{"name": "phones", "count": 6, "slice": "embb", "mobility": "static"},
                      {"name": "sensors", "count": 3, "slice": "iot", "traffic": "cbr",
                       "cbr_mbps": 2.0}],
        "events": events or [],
        "agents": agents,
        "output": {"kpi_period_ms": 100, "ue_kpis": False},
    }


def show(summary: dict, keys: tuple[str, ...] = ("throughput_mbps_mean",)) -> None:
    """Print the chosen summary metrics and every agent.* metric."""
    for k, v in summary.items():
        if k in keys or k.startswith("agent.") or k.startswith("slice."):
            print(f"  {k:<40} {v:12.4g}")
