"""The indicator engine computed a few chunks ahead of the run, on a thread of its own."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from dhispatch.runtime.run.ahead import Ahead


def test_items_come_in_order_and_all_of_them() -> None:
    assert list(Ahead(iter(range(2500)), size=100, depth=2)) == list(range(2500))
    assert list(Ahead(iter([]))) == []


def test_an_error_of_the_engine_reaches_the_reader_after_the_items_before_it() -> None:
    def engine() -> Iterator[int]:
        yield from range(5)
        raise ValueError("stock line 7 is corrupt")

    seen = []
    with pytest.raises(ValueError, match="stock line 7"):
        for item in Ahead(engine(), size=2):
            seen.append(item)
    assert seen == [0, 1, 2, 3, 4]


def test_a_reader_that_stops_early_stops_the_engine_on_its_own_thread() -> None:
    closed_on = []
    produced = []

    def engine() -> Iterator[int]:
        try:
            for n in range(1_000_000):
                produced.append(n)
                yield n
        finally:
            closed_on.append(threading.current_thread().name)

    values = iter(Ahead(engine(), size=10, depth=2))
    assert [next(values) for _ in range(15)] == list(range(15))
    values.close()
    # the engine was closed where it ran, and never got far ahead: depth × size, one chunk
    # being filled, one being read
    assert closed_on == ["dhispatch-compute"]
    assert len(produced) <= 15 + 10 * 4
    assert not any(t.name == "dhispatch-compute" for t in threading.enumerate())
