"""Where a request waits for a worker: first come, first served, whatever the load.

The free list is a container; its items here are minimal READY stand-ins, because
what is tested is the order of hand-overs, not what a worker does.
"""

from __future__ import annotations

from dataclasses import dataclass

import gevent
import gevent.event
import pytest

from actors.errors import NoFreeWorkersError, PoolStoppedError
from actors.freelist import Cancelled, FreeList
from actors.fsm import State


@dataclass
class Item:
    name: str
    state: State = State.READY


def test_a_released_worker_goes_to_the_oldest_waiter_not_back_to_its_releaser() -> None:
    """A request loop that releases its worker and takes again at once (no yield between)
    must queue behind the requests already waiting, or they starve until their timeout."""
    free = FreeList()
    got: dict[str, str] = {}

    def waiter(name: str) -> None:
        got[name] = free.take(5).name

    a = gevent.spawn(waiter, "a")
    b = gevent.spawn(waiter, "b")
    gevent.sleep(0)  # both parked, a first
    assert free.waiting == 2
    free.put(Item("w"))  # this greenlet gives its worker back...
    with pytest.raises(NoFreeWorkersError):
        free.take(0.05)  # ...and asks again at once: it waits behind b, w went to a
    free.put(Item("x"))
    gevent.joinall([a, b], timeout=5, raise_error=True)
    assert got == {"a": "w", "b": "x"}


def test_a_cancelled_waiter_leaves_the_line_and_the_next_one_is_served() -> None:
    free = FreeList()
    gone = gevent.event.Event()
    first = gevent.spawn(free.take, 5, gone)
    second = gevent.spawn(free.take, 5)
    gevent.sleep(0)
    gone.set()
    with pytest.raises(Cancelled):
        first.get(timeout=5)
    free.put(Item("w"))
    assert second.get(timeout=5).name == "w"
    assert free.waiting == 0 and len(free) == 0


def test_timeout_names_the_others_waiting() -> None:
    free = FreeList()
    other = gevent.spawn(free.take, 5)
    gevent.sleep(0)
    with pytest.raises(NoFreeWorkersError, match=r"1 other requests waiting"):
        free.take(0.05)
    free.put(Item("w"))
    assert other.get(timeout=5).name == "w"


def test_stale_workers_are_skipped_and_reported() -> None:
    stale: list[str] = []
    free = FreeList(on_stale=lambda w: stale.append(w.name))
    free.put(Item("old", State.INVALID))
    free.put(Item("good"))
    assert free.take(1).name == "good"
    assert stale == ["old"]


def test_destroy_fails_every_waiter_and_later_takers() -> None:
    free = FreeList()
    waiters = [gevent.spawn(free.take, 5) for _ in range(3)]
    gevent.sleep(0)
    free.destroy()
    for w in waiters:
        with pytest.raises(PoolStoppedError):
            w.get(timeout=5)
    with pytest.raises(PoolStoppedError):
        free.take(1)
    free.put(Item("late"))  # ignored after destroy
    assert len(free) == 0


def test_each_waiter_times_out_at_its_own_deadline_with_one_timer_for_the_line() -> None:
    """The line has one timer (due at the earliest deadline), not one per waiter: a shorter
    timeout behind a longer one still fires first, a waiter served in time (the oldest, here)
    never times out, and the timer does not outlive the line (it would keep the hub's loop
    alive)."""
    free = FreeList()
    started = gevent.get_hub().loop.now()
    ended: dict[str, float | str] = {}

    def waiter(name: str, timeout: float) -> None:
        try:
            ended[name] = free.take(timeout).name
        except NoFreeWorkersError:
            ended[name] = gevent.get_hub().loop.now() - started

    long_ = gevent.spawn(waiter, "long", 0.6)
    middle = gevent.spawn(waiter, "middle", 0.3)
    short = gevent.spawn(waiter, "short", 0.2)
    gevent.sleep(0)
    assert free.waiting == 3
    free.put(Item("w"))  # goes to the oldest: "long"
    gevent.joinall([long_, middle, short], timeout=5, raise_error=True)
    assert ended["long"] == "w"
    assert isinstance(ended["short"], float) and 0.15 <= ended["short"] < 0.45
    assert isinstance(ended["middle"], float) and 0.25 <= ended["middle"] < 0.55
    assert ended["short"] < ended["middle"]
    assert free.waiting == 0
    timer = free._timer
    assert timer is None or not timer.active
    # A waiter after the line emptied gets its own deadline again.
    with pytest.raises(NoFreeWorkersError):
        free.take(0.05)
    assert not free._timer.active


def test_a_waiter_killed_in_line_does_not_swallow_the_next_worker() -> None:
    """A request greenlet killed while it waits (a server stopping, a client task cancelled)
    must leave the line: the worker released next goes to the shelf, not to the dead wait."""
    free = FreeList()
    doomed = gevent.spawn(free.take, 5)
    gevent.sleep(0)
    assert free.waiting == 1
    doomed.kill()
    assert free.waiting == 0
    free.put(Item("w"))
    assert free.take(0.5).name == "w"
