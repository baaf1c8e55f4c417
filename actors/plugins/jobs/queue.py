"""The one priority queue every pipeline feeds and the pollers drain.

RoadRunner's binary heap (``sdk/priority_queue``): lower priority first.  Greenrunner also
keeps arrival order among equal priorities (a sequence number breaks ties), so a pipeline's
jobs of one priority run first in, first out.  Everything runs on the hub: ``insert`` never
blocks, ``extract`` blocks only its caller's greenlet.
"""

from __future__ import annotations

import heapq
import itertools

import gevent.event

from actors.plugins.jobs.driver import Item

__all__ = ["PriorityQueue", "QueueClosed"]


class QueueClosed(Exception):
    """:meth:`PriorityQueue.extract` was woken by :meth:`PriorityQueue.close`."""


class PriorityQueue:
    """Implements :class:`~actors.plugins.jobs.driver.Queue` for the drivers.

    ``capacity`` is ``jobs.pipeline_size``: :meth:`wait_room` lets a driver that holds jobs
    itself (memory) keep them until there is room, as RoadRunner's bounded heap does.
    """

    def __init__(self, capacity: int = 1_000_000) -> None:
        self.capacity = capacity
        self._heap: list[tuple[int, int, Item]] = []
        self._seq = itertools.count()
        self._ready = gevent.event.Event()
        self._room = gevent.event.Event()
        self._room.set()
        self._closed = False

    def __len__(self) -> int:
        return len(self._heap)

    def insert(self, item: Item) -> None:
        """Add ``item``; the lowest priority comes out first, ties in arrival order."""
        heapq.heappush(self._heap, (item.priority, next(self._seq), item))
        self._ready.set()
        if len(self._heap) >= self.capacity:
            self._room.clear()

    def extract(self, timeout: float | None = None) -> Item | None:
        """The next item, waiting for one; ``None`` after ``timeout`` seconds.

        Raises :class:`QueueClosed` once the queue is closed, even if items are left.
        """
        while True:
            if self._closed:
                raise QueueClosed
            if self._heap:
                item = heapq.heappop(self._heap)[2]
                if not self._heap:
                    self._ready.clear()
                if len(self._heap) < self.capacity:
                    self._room.set()
                return item
            if not self._ready.wait(timeout):
                return None

    def wait_room(self, timeout: float | None = None) -> bool:
        """Wait until the queue holds fewer than ``capacity`` items; False on timeout."""
        return self._room.wait(timeout)

    def remove(self, pipeline: str) -> list[Item]:
        """Take out every item of ``pipeline`` (it was destroyed); returns them."""
        kept = [entry for entry in self._heap if entry[2].pipeline != pipeline]
        removed = [entry[2] for entry in self._heap if entry[2].pipeline == pipeline]
        if removed:
            heapq.heapify(kept)
            self._heap = kept
            if not kept:
                self._ready.clear()
            if len(kept) < self.capacity:
                self._room.set()
        return removed

    def close(self) -> None:
        """Wake every waiting poller with :class:`QueueClosed` (the plugin stops)."""
        self._closed = True
        self._ready.set()
        self._room.set()
