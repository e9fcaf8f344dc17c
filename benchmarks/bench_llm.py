"""Benchmark the embedded LLM backend on a representative Kp-tuning call (not a test).

Measures SmolLM2-135M-Instruct (llama-cpp, in-process, ``n_threads=1, n_threads_batch=2``)
answering a short near-RT Kp-tuning prompt constrained to a JSON schema, exactly as the embedded
backend runs it (KV cache reset before each call). Prints p50/p90 wall latency per call over
``--calls`` calls and the prefill (prompt) and decode (completion) throughput in tokens/s from
llama.cpp's own performance counters — the figures of the ``this_machine_smollm2_135m`` row of
``datasets/llm_hardware_profiles.csv``.

Usage::

    python benchmarks/bench_llm.py [--calls 20]
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from agents.llm import EmbeddedBackend, embedded_status

SCHEMA = {
    "type": "object",
    "properties": {
        "kp": {"type": "number", "minimum": 0.0, "maximum": 5.0},
        "reason": {"type": "string", "enum": ["raise", "lower", "keep"]},
    },
    "required": ["kp", "reason"],
    "additionalProperties": False,
}


def prompt(i: int) -> list[dict]:
    """A short Kp-tuning prompt; the measured throughput varies with ``i`` so no two match."""
    measured = 12.0 + 0.5 * (i % 10)
    return [
        {"role": "system", "content": "You tune the gain Kp of a proportional controller that "
                                      "sets a slice's PRB quota. Answer with JSON only."},
        {"role": "user", "content": f"Intent: 20 Mbps +/- 5. Measured: {measured:.1f} Mbps. "
                                    "Current Kp: 0.8. Last errors (Mbps): 9.0, 8.5, 8.0. "
                                    "Propose kp in [0, 5] and say raise, lower or keep."},
    ]


def main() -> None:
    """Run the benchmark and print the figures."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=20)
    args = parser.parse_args()
    ok, reason = embedded_status()
    if not ok:
        sys.exit(f"embedded backend unavailable: {reason}")
    import llama_cpp

    backend = EmbeddedBackend()
    start = time.perf_counter()
    llm = backend.load()
    load_s = time.perf_counter() - start
    backend.chat(prompt(0), SCHEMA, max_tokens=64)  # warm-up: first grammar build, page-in
    walls, n_p, t_p, n_e, t_e, invalid = [], 0, 0.0, 0, 0.0, 0
    for i in range(args.calls):
        llama_cpp.llama_perf_context_reset(llm.ctx)
        reply = backend.chat(prompt(i), SCHEMA, max_tokens=64)
        perf = llama_cpp.llama_perf_context(llm.ctx)
        walls.append(reply.wall_s)
        n_p, t_p = n_p + perf.n_p_eval, t_p + perf.t_p_eval_ms
        n_e, t_e = n_e + perf.n_eval, t_e + perf.t_eval_ms
        invalid += reply.parsed is None
    w = np.array(walls)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs; "
          f"model {backend.model}; load {load_s:.2f} s")
    print(f"calls: {args.calls}; schema-invalid replies: {invalid}; "
          f"last reply: {reply.text!r} ({reply.prompt_tokens} prompt + "
          f"{reply.completion_tokens} completion tokens)")
    print(f"wall per call: p50 {np.percentile(w, 50) * 1e3:.0f} ms, "
          f"p90 {np.percentile(w, 90) * 1e3:.0f} ms, mean {w.mean() * 1e3:.0f} ms")
    print(f"prefill: {n_p / (t_p / 1e3):.0f} tokens/s ({n_p} tokens in {t_p:.0f} ms)")
    print(f"decode:  {n_e / (t_e / 1e3):.0f} tokens/s ({n_e} tokens in {t_e:.0f} ms)")


if __name__ == "__main__":
    main()
