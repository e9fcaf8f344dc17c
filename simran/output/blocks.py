"""Helpers of the collector's sums and per-tick record blocks (:mod:`simran.output.collectors`)."""

from __future__ import annotations

import math

import numpy as np


class _Acc:
    """Running sums over one recording period (views into the collector's one sum buffer)."""

    def __init__(self, sums: dict[str, np.ndarray]):
        self.sums = sums
        self.n = 0

    def reset(self) -> None:
        for v in self.sums.values():
            v[...] = 0.0
        self.n = 0


def _stack(arrays) -> np.ndarray:
    """``np.stack`` of equal-shape arrays (a per-tick block of records), built from its runs of
    one repeated object (a state that did not change for some ticks, an allocation the kernel
    reused): the distinct arrays once, each repeated over its run — the same array, without
    copying every tick's array one by one."""
    objs, counts = [], []
    prev = None
    for a in arrays:
        if a is prev:
            counts[-1] += 1
        else:
            objs.append(a)
            counts.append(1)
            prev = a
    if len(objs) == 1:
        return np.repeat(objs[0][None], counts[0], axis=0)
    if len(objs) * 4 > len(arrays):
        return np.array(arrays)               # mostly distinct: one copy each is cheaper
    return np.repeat(np.array(objs), counts, axis=0)


def _token_groups(tokens) -> tuple[list[int], np.ndarray] | None:
    """(first index of each distinct token, the token index of every tick) when every tick of
    a block has a token (:meth:`Collector.on_tick`) and they are few; else None. Ticks with
    one token have the very same arrays, so a column is its distinct arrays, indexed."""
    seen: dict[int, int] = {}
    first, inv = [], []
    for i, t in enumerate(tokens):
        if t is None:
            return None
        j = seen.get(id(t))                # the tokens are alive: their ids are distinct
        if j is None:
            j = seen[id(t)] = len(first)
            first.append(i)
        inv.append(j)
    if len(first) * 4 > len(tokens):
        return None
    return first, np.array(inv)


def _carve(buf: np.ndarray, shapes: dict[str, tuple]) -> tuple[dict[str, np.ndarray], int]:
    """Views of consecutive parts of ``buf`` with the given shapes, and the length used."""
    out, i = {}, 0
    for k, shape in shapes.items():
        n = math.prod(shape)
        out[k] = buf[i:i + n].reshape(shape)
        i += n
    return out, i
