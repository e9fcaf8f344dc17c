"""The kernel's run-time helpers: a lighter driver than :class:`simpy.Process` for its own
periodic loops, and fewer garbage collections while a run goes.

The tick loop and an agent's default observe–decide loop run every 5 ms for the whole run and
only ever wait on a timeout they have just created. :func:`drive` runs such a generator the way
``env.process`` does — started by an event at the current time with URGENT priority, resumed by
each timeout it yields — with one callback instead of a :class:`simpy.Process`'s bookkeeping
(about 0.3 µs less per resumption in CPython).

Event order is the same as with ``env.process``: SimPy orders events by (time, priority, id),
the ids are handed out in creation order, and the driver creates its start event where
``env.process`` creates its ``Initialize`` event and nothing else. The only difference is at the
end: a finished :class:`simpy.Process` schedules one more event (its own, waited on by nobody),
which takes an id after every event already scheduled and so changes no order.

An exception raised by the generator propagates out of ``env.run`` at once (a failed
:class:`simpy.Process` re-raises it from its own event a step later).
"""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Generator, Iterator

import simpy
from simpy.events import URGENT, Event

__all__ = ["GC_GEN0_THRESHOLD", "drive", "fewer_collections"]


def drive(env: simpy.Environment, gen: Generator) -> None:
    """Run ``gen`` as a SimPy process that yields only pending events (fresh timeouts).

    Parameters
    ----------
    env : simpy.Environment
    gen : generator
        Yields events that are scheduled and not yet processed (``env.timeout(...)``); it is
        resumed with the event's value when the event is processed. Anything else yielded
        raises :class:`TypeError` naming it.
    """
    send = gen.send

    def resume(event: Event) -> None:
        try:
            nxt = send(event._value)
        except StopIteration:
            return
        try:
            nxt.callbacks.append(resume)
        except AttributeError:
            raise TypeError(f"{gen!r} yielded {nxt!r}: a driven loop may only yield pending "
                            f"events (use env.process for anything else)") from None

    start = Event(env)                   # as env.process's Initialize: now, URGENT
    start._ok, start._value = True, None
    start.callbacks.append(resume)
    env.schedule(start, URGENT)


GC_GEN0_THRESHOLD = 10_000
"""The cyclic garbage collector's first threshold while a run goes (CPython's default: 700)."""
_gc_lock = threading.Lock()
_gc_depth = 0
_gc_saved: tuple | None = None


@contextlib.contextmanager
def fewer_collections() -> Iterator[None]:
    """Raise the cyclic GC's first threshold to :data:`GC_GEN0_THRESHOLD` while inside.

    A run keeps every decision-log row and per-tick record it makes, so the young generation
    fills with objects that all survive, and CPython's default threshold (a collection every 700
    net allocations) scans them again and again for cycles they do not form: ~3 % of a one-cell
    Type I route. Collections still happen, less often (what a run makes per tick forms no
    reference cycle; the few long-lived cycles — simulation ↔ agents — are still collected).
    The thresholds are restored when the last of nested or concurrent runs leaves (the setting
    is the interpreter's, not the thread's); a threshold already higher is left alone.
    """
    global _gc_depth, _gc_saved
    with _gc_lock:
        if _gc_depth == 0:
            _gc_saved = gc.get_threshold()
            if _gc_saved[0] and _gc_saved[0] < GC_GEN0_THRESHOLD:      # 0: GC disabled
                gc.set_threshold(GC_GEN0_THRESHOLD, *_gc_saved[1:])
        _gc_depth += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_depth -= 1
            if _gc_depth == 0 and _gc_saved is not None:
                gc.set_threshold(*_gc_saved)
                _gc_saved = None
