"""An iterator run a few chunks ahead of its reader, on a thread of its own: the indicator engine
computes the next stores while the run makes cells, journals and sends what it has (its queries
leave the interpreter's lock, so they go on while the rest of the run works).

Memory stays bounded: at most ``depth`` chunks of ``size`` items wait. An exception of the
iterator is raised to the reader where the item would have come; a reader that stops early
(a stop request, an error) stops the thread before it returns.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Generator
from collections.abc import Iterator
from dataclasses import dataclass
from time import perf_counter
from typing import Generic
from typing import TypeVar

T = TypeVar("T")

POLL = 0.1  # seconds between looks at the reader having gone, while the queue is full


@dataclass(slots=True)
class _Failed:
    error: BaseException


_DONE = object()


class Ahead(Generic[T]):
    """``iter(Ahead(items))`` yields ``items``, computed on a thread ahead of the reader;
    ``seconds`` is the time the thread spent computing them (not waiting for the reader)."""

    def __init__(self, items: Iterator[T], *, size: int = 1000, depth: int = 16) -> None:
        self._items, self._size = items, size
        self._queue: queue.Queue[object] = queue.Queue(depth)
        self._gone = threading.Event()
        self.seconds = 0.0
        self._thread = threading.Thread(target=self._work, name="dhispatch-compute", daemon=True)

    def __iter__(self) -> Generator[T, None, None]:
        self._thread.start()
        try:
            while True:
                got = self._queue.get()
                if got is _DONE:
                    return
                if isinstance(got, _Failed):
                    raise got.error
                yield from got  # type: ignore[misc]
        finally:
            self._gone.set()
            self._thread.join()

    def _work(self) -> None:
        chunk: list[T] = []
        try:
            started = perf_counter()
            for item in self._items:
                chunk.append(item)
                if len(chunk) >= self._size:
                    self.seconds += perf_counter() - started
                    if not self._put(chunk):
                        return
                    chunk, started = [], perf_counter()
            self.seconds += perf_counter() - started
            if chunk and not self._put(chunk):
                return
            self._put(_DONE)
        except BaseException as exc:  # noqa: BLE001 - handed to the reader, raised there
            if not chunk or self._put(chunk):  # the items before it first
                self._put(_Failed(exc))
        finally:
            close = getattr(self._items, "close", None)
            if close is not None:
                close()  # on this thread: a generator is closed where it runs

    def _put(self, item: object) -> bool:
        """Hand ``item`` to the reader; False once the reader has gone."""
        while not self._gone.is_set():
            try:
                self._queue.put(item, timeout=POLL)
                return True
            except queue.Full:
                continue
        return False
