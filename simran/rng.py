"""Named random streams of a run (design §7).

One root seed per run; every subsystem draws from its own child stream, identified by a *name*
rather than by creation order, so adding a random draw in one subsystem (say traffic) never
changes the realisations of another (say the channel). A stream's spawn key is the CRC-32 of its
name, so the mapping is stable across versions and processes.
"""

from __future__ import annotations

import zlib

import numpy as np


class Streams:
    """Factory of named ``numpy.random.Generator`` streams from one root seed.

    Parameters
    ----------
    seed : int
        Root seed of the run (``simulation.seed``).
    replication : int
        Optional replication index (RngRun-style) mixed into every stream's spawn key.
    """

    def __init__(self, seed: int, replication: int = 0):
        self.seed = int(seed)
        self.replication = int(replication)

    def spawn_key(self, name: str) -> tuple[int, int]:
        """The spawn key of stream ``name``: (replication, crc32(name))."""
        return (self.replication, zlib.crc32(name.encode("utf-8")))

    def stream(self, name: str) -> np.random.Generator:
        """A fresh generator for the named stream (same name ⇒ same sequence)."""
        ss = np.random.SeedSequence(self.seed, spawn_key=self.spawn_key(name))
        return np.random.Generator(np.random.PCG64(ss))
