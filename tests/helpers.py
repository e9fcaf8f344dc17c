"""Helpers shared by several test modules."""

from __future__ import annotations

import textwrap
from pathlib import Path

import h5py

TINY_SWEEP_BASE = """
name = "tiny"
[simulation]
duration_s = 0.2
seed = 3
[network]
rings = 0
[[slices]]
name = "embb"
quota_pct = 60
[[slices]]
name = "iot"
quota_pct = 40
[[ue_groups]]
name = "phones"
count = 4
slice = "embb"
[[ue_groups]]
name = "sensors"
count = 2
slice = "iot"
traffic = "cbr"
[output]
ue_kpis = false
"""
"""A two-slice, one-cell base scenario for sweep tests (runs in a fraction of a second)."""


def write_sweep(tmp: Path, sweep: str, base: str = TINY_SWEEP_BASE,
                name: str = "sweep.toml") -> Path:
    """Write ``base`` as ``tmp/base.toml`` and the (dedented) sweep file; return its path."""
    (tmp / "base.toml").write_text(base)
    path = tmp / name
    path.write_text(textwrap.dedent(sweep))
    return path


def h5_datasets(path) -> dict:
    """Every dataset of an HDF5 file, by path, as numpy values."""
    out = {}
    with h5py.File(path, "r") as f:
        f.visititems(lambda n, o: out.__setitem__(n, o[()]) if isinstance(o, h5py.Dataset)
                     else None)
    return out


class CannedBackend:
    """Returns canned reply texts in order: a stand-in for a misbehaving model (test only)."""

    name, model = "fake", "canned"

    def __init__(self, texts, prompt_tokens: int = 100, completion_tokens: int = 5):
        self.texts = list(texts)
        self.tokens = (prompt_tokens, completion_tokens)

    def chat(self, messages, schema=None, *, max_tokens=128, temperature=0.0):
        from agents.llm import ChatReply, parse_json_reply

        text = self.texts.pop(0)
        parsed, err = parse_json_reply(text, schema)
        return ChatReply(text, parsed, *self.tokens, 0.01, "fake", "canned", err)

    def describe(self):
        return "canned replies (test)"
