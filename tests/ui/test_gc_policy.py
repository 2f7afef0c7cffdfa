"""The GC policy of the window's process (issue 4): automatic collection off, collections from a timer
in the GUI thread only, old garbage collected too (memory stays bounded), start-up objects frozen."""

from __future__ import annotations

import gc
import threading
import weakref

import pytest

from enrollreview.ui import gc_policy
from enrollreview.ui.gc_policy import GarbageCollector


class Node:
    """A cycle (it refers to itself): only the cyclic collector can free it."""

    def __init__(self) -> None:
        self.me = self


def cycles(n: int) -> weakref.ref:
    """Make n unreachable cycles; return a weak reference to one of them."""
    nodes = [Node() for _ in range(n)]
    ref = weakref.ref(nodes[0])
    del nodes
    return ref


@pytest.fixture
def collections_seen():
    """(generation, thread ident) of every collection while the test runs."""
    seen: list[tuple[int, int]] = []

    def cb(phase, info):
        if phase == "start":
            seen.append((info["generation"], threading.get_ident()))

    gc.callbacks.append(cb)
    yield seen
    gc.callbacks.remove(cb)


@pytest.fixture
def collector(qapp):
    was = gc.isenabled()
    c = GarbageCollector(interval_ms=10, freeze_startup=False)
    yield c
    c.uninstall()
    assert gc.isenabled() is was
    c.deleteLater()


def test_automatic_collection_is_off_and_the_timer_collects(collector, qtbot, collections_seen):
    assert not gc.isenabled()
    assert collector.timer.isActive() and collector.timer.interval() == 10
    ref = cycles(2000)                  # far over the gen-0 threshold: Python would have collected by now
    assert ref() is not None and collections_seen == []
    qtbot.waitUntil(lambda: ref() is None, timeout=5000)
    assert sum(collector.collections) >= 1   # young ones first, or an older generation when its threshold is crossed too


def test_old_garbage_is_collected_too(collector, qtbot):
    """A cycle that lived long enough to reach the oldest generation is freed once it is garbage, by the
    full collections the timer runs while the program keeps allocating: memory stays bounded."""
    old = Node()
    ref = weakref.ref(old)
    gc.collect(1)                       # it survives two collections: now in the oldest generation
    del old
    for _ in range(400):
        if ref() is None:
            break
        cycles(800)                     # ordinary churn: over the gen-0 threshold each time
        qtbot.wait(12)
    assert ref() is None
    assert collector.collections[2] >= 1


def test_collections_run_only_in_the_gui_thread(collector, qtbot, collections_seen):
    refs: list[weakref.ref] = []
    t = threading.Thread(target=lambda: refs.extend(cycles(3000) for _ in range(20)), name="busy")
    t.start()
    t.join()
    assert collections_seen == []       # 60,000 cycles made in another thread, and it collected nothing
    qtbot.waitUntil(lambda: all(r() is None for r in refs), timeout=5000)
    assert collections_seen
    assert {ident for _, ident in collections_seen} == {threading.main_thread().ident}


def test_start_up_objects_are_frozen_and_uninstall_restores(qapp, qtbot):
    was = gc.isenabled()
    c = GarbageCollector(interval_ms=10)
    try:
        qtbot.waitUntil(lambda: c.frozen, timeout=5000)
        assert gc.get_freeze_count() > 1000       # the modules, PySide6 and the test's objects
        assert c.collections[2] == 1              # one full collection before freezing
    finally:
        c.uninstall()
        c.deleteLater()
    assert gc.get_freeze_count() == 0 and gc.isenabled() is was


def test_the_policy_holds_through_an_import_in_the_window(window, gen_file, qtbot, db, collections_seen):
    """With the window's policy installed, an import (in the worker thread) neither turns automatic
    collection back on nor collects outside the GUI thread; the timer keeps collecting."""
    was = gc.isenabled()
    c = gc_policy.install(window)
    try:
        assert gc_policy.installed() is c
        assert gc_policy.install(window) is c     # once per process
        with qtbot.waitSignal(window.importer.finished, timeout=60_000) as blocker:
            assert window.import_paths([gen_file(n=8, seed=5)])
        assert [r.status for r in blocker.args[0]] == ["imported"]
        assert not gc.isenabled() and c.timer.isActive()
        ref = cycles(2000)
        qtbot.waitUntil(lambda: ref() is None, timeout=5000)
        assert {ident for _, ident in collections_seen} == {threading.main_thread().ident}
    finally:
        gc_policy.uninstall()
    assert gc_policy.installed() is None and gc.isenabled() is was and gc.get_freeze_count() == 0
