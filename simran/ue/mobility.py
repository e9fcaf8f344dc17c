"""UE mobility: static drops, random waypoint and vehicles along routes — vectorised.

All UEs of all groups live in one position array ``xy [U, 2]`` (metres). Each model updates its
own rows every mobility period (design §2: slower physics at its own period, 100 ms by default).

* **static** — uniform drop in the deployment area, at least ``min_distance_m`` from every site
  (TR 38.901 Table 7.2-1), by vectorised rejection sampling.
* **random waypoint** — each UE walks at ``speed_mps`` to a uniformly drawn waypoint, then draws the
  next one (zero pause time).
* **vehicle** — vehicles drive at ``speed_mps`` along a polyline route, spread evenly along it with
  a random phase, back and forth (a vehicle reaching an end turns round, so tracks have no jumps).
  Without a route, each vehicle gets a straight road across the area through a random point, at a
  random heading.
"""

from __future__ import annotations

import numpy as np


def drop_uniform(rng: np.random.Generator, n: int, area: np.ndarray, site_xy: np.ndarray,
                 min_distance_m: float, max_distance_m: float | None = None,
                 max_tries: int = 200) -> np.ndarray:
    """Uniform points in the deployment: inside a rectangle, ≥ ``min_distance_m`` from every site
    and ≤ ``max_distance_m`` from the nearest one (by rejection).

    With ``max_distance_m = ISD/√3`` (the circumradius of a site's hexagon) the points cover the
    union of the sites' hexagons — the network's footprint — instead of the corners of its bounding
    box, which no site serves (3GPP drops UEs uniformly in the network area, TR 38.901 §7.2).

    Parameters
    ----------
    area : ndarray, shape [2, 2]
        ``[[x_min, y_min], [x_max, y_max]]`` in m.
    site_xy : ndarray, shape [S, 2]
    """
    lo, hi = area
    far = np.inf if max_distance_m is None else float(max_distance_m)
    out = rng.uniform(lo, hi, size=(n, 2))
    for _ in range(max_tries):
        d = np.linalg.norm(out[:, None, :] - site_xy[None, :, :], axis=2).min(axis=1)
        bad = (d < min_distance_m) | (d > far)
        if not bad.any():
            return out
        out[bad] = rng.uniform(lo, hi, size=(int(bad.sum()), 2))
    raise ValueError(f"cannot drop UEs between {min_distance_m} and {far} m from the sites "
                     f"inside {area.tolist()}")


class RandomWaypoint:
    """Random-waypoint walkers (zero pause), vectorised over UEs.

    Parameters
    ----------
    rng : numpy.random.Generator
    xy0 : ndarray, shape [n, 2]
        Start positions [m].
    speed_mps : ndarray, shape [n]
    area : ndarray, shape [2, 2]
    sampler : callable(n) -> ndarray [n, 2], optional
        Draws waypoints (default: uniform in ``area``), e.g. :func:`drop_uniform` on the network
        footprint.
    """

    def __init__(self, rng, xy0, speed_mps, area, sampler=None):
        self.rng, self.area = rng, np.asarray(area, dtype=float)
        self.sample = sampler or (lambda n: rng.uniform(self.area[0], self.area[1], size=(n, 2)))
        self.xy = np.array(xy0, dtype=float)
        self.speed = np.asarray(speed_mps, dtype=float)
        self.target = self.sample(self.xy.shape[0])

    def step(self, dt_s: float) -> np.ndarray:
        """Advance ``dt_s`` seconds; return positions [n, 2]."""
        left = self.speed * dt_s
        for _ in range(4):  # a UE may reach several waypoints in one step (rare)
            vec = self.target - self.xy
            dist = np.linalg.norm(vec, axis=1)
            arrive = dist <= left
            move = np.where(arrive, 1.0, left / np.maximum(dist, 1e-12))
            self.xy = self.xy + vec * move[:, None]
            left = np.where(arrive, left - dist, 0.0)
            if not arrive.any():
                break
            self.target[arrive] = self.sample(int(arrive.sum()))
        return self.xy


class RouteFollower:
    """Vehicles going back and forth along polylines at constant speed.

    Parameters
    ----------
    routes : list of ndarray [k, 2]
        One polyline per vehicle (vehicles may share the same array).
    speed_mps : ndarray, shape [n]
    s0_m : ndarray, shape [n]
        Initial arc-length position along the route's back-and-forth cycle [m].
    """

    def __init__(self, routes, speed_mps, s0_m):
        self.routes = [np.asarray(r, dtype=float) for r in routes]
        seg = [np.linalg.norm(np.diff(r, axis=0), axis=1) for r in self.routes]
        self.cum = [np.concatenate([[0.0], np.cumsum(s)]) for s in seg]
        self.length = np.array([c[-1] for c in self.cum])
        if (self.length <= 0).any():
            raise ValueError("a vehicle route has zero length")
        self.speed = np.asarray(speed_mps, dtype=float)
        self._straight = None
        if all(r.shape[0] == 2 for r in self.routes):
            self._straight = (np.array([r[0] for r in self.routes]),
                              np.array([r[1] for r in self.routes]))
        self.s = np.asarray(s0_m, dtype=float) % (2 * self.length)
        self.xy = self._positions()

    def _positions(self) -> np.ndarray:
        # position on a back-and-forth cycle of length 2L: s in [L, 2L) goes back
        along = np.where(self.s <= self.length, self.s, 2 * self.length - self.s)
        if self._straight is not None:                     # all routes are 2-point segments
            a, b = self._straight
            return a + (b - a) * (along / self.length)[:, None]
        out = np.empty((self.s.size, 2))
        for i, (r, c) in enumerate(zip(self.routes, self.cum)):
            out[i, 0] = np.interp(along[i], c, r[:, 0])
            out[i, 1] = np.interp(along[i], c, r[:, 1])
        return out

    def step(self, dt_s: float) -> np.ndarray:
        """Advance ``dt_s`` seconds; return positions [n, 2]."""
        self.s = (self.s + self.speed * dt_s) % (2 * self.length)
        self.xy = self._positions()
        return self.xy


def straight_roads(rng: np.random.Generator, n: int, area: np.ndarray) -> list[np.ndarray]:
    """Straight roads across the area: through a uniform point, at a uniform heading."""
    lo, hi = np.asarray(area, dtype=float)
    span = float(np.linalg.norm(hi - lo))
    centre = rng.uniform(lo, hi, size=(n, 2))
    ang = rng.uniform(0, np.pi, size=n)
    d = np.stack([np.cos(ang), np.sin(ang)], axis=1) * span / 2
    return [np.clip(np.stack([c - v, c + v]), lo, hi) for c, v in zip(centre, d)]
