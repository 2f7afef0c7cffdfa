"""Garbage collection in the window's process: only in the GUI thread, from a timer, and cheap.

Python's automatic cyclic collector runs in whichever thread happens to allocate when a threshold
is crossed, and holds the GIL for the whole collection. In this process that is a problem twice over:
a full collection walks every tracked object (35-45 ms here, for the ~40,000 objects of the loaded
modules, PySide6 and the window, and several times that on a busy 2-core machine), stalling the window
at a random moment (issue 4); and a collection in a worker thread can free a Qt object's last Python
reference in the wrong thread. So, as qutebrowser does for its GUI process:

- automatic collection is off (`gc.disable()`);
- a timer in the GUI thread checks the generation counters every INTERVAL_MS and collects a generation
  when its Python threshold is crossed, young ones first (the collector's own rule, run from the event
  loop, between two events);
- once the window is up (the first tick), what start-up built (modules, classes, the window) is moved
  to the collector's permanent generation (`gc.freeze()`) after one full collection: it lives as long as
  the process, and a full collection then walks only what was made since (about a millisecond).

Memory stays bounded: every allocation still counts toward the thresholds, so cyclic garbage is
collected as soon as the checks see the thresholds crossed, at worst within THRESHOLD[1] x
THRESHOLD[2] checks of continued allocation for the oldest generation (about 20 s at the defaults);
without allocation no new garbage arises. What was frozen is never examined again, which costs at most
the start-up objects that later become garbage in a cycle (a one-time, fixed amount); their memory is
still released normally when their last reference goes. Reference counting, which frees nearly all
objects, is unaffected.

Large imports run in a process of their own (`worker.OWN_PROCESS_MIN_BYTES`), which keeps Python's
default collector: nothing it collects can stall the window.
"""

from __future__ import annotations

import gc
import logging
import time

from PySide6.QtCore import QObject, QTimer, Slot

log = logging.getLogger("enrollreview.ui")

INTERVAL_MS = 200
SLOW_MS = 20.0   # a collection this long is logged (generation, milliseconds, objects collected)


class GarbageCollector(QObject):
    """Owns the GC policy of the process while it exists; `uninstall()` restores Python's defaults.

    Attributes for tests and diagnostics: `collections[gen]` counts the collections it ran, `frozen`
    tells whether the start-up objects were frozen.
    """

    def __init__(self, parent: QObject | None = None, *, interval_ms: int = INTERVAL_MS,
                 freeze_startup: bool = True) -> None:
        super().__init__(parent)
        self.setObjectName("garbageCollector")
        self.threshold = gc.get_threshold()
        self._was_enabled = gc.isenabled()
        self._freeze_startup = freeze_startup
        self.frozen = False
        self.collections = [0, 0, 0]
        gc.disable()
        self.timer = QTimer(self)
        self.timer.setObjectName("gcTimer")
        self.timer.setInterval(interval_ms)
        self.timer.timeout.connect(self.check)
        self.timer.start()

    @Slot()
    def check(self) -> None:
        """Collect the generations whose thresholds are crossed (the collector's rule, done here)."""
        if self._freeze_startup and not self.frozen:
            self._collect(2)
            gc.freeze()
            self.frozen = True
            return
        c0, c1, c2 = gc.get_count()
        t0, t1, t2 = self.threshold
        if c0 > t0:
            gen = 0
            if c1 > t1:
                gen = 2 if c2 > t2 else 1
            self._collect(gen)

    def _collect(self, gen: int) -> None:
        t = time.perf_counter()
        n = gc.collect(gen)
        ms = (time.perf_counter() - t) * 1000
        self.collections[gen] += 1
        if ms > SLOW_MS:
            log.info("garbage collection of generation %d took %.0f ms (%d objects freed)", gen, ms, n)

    def uninstall(self) -> None:
        """Stop the timer and give the process back Python's automatic collector."""
        self.timer.stop()
        if self.frozen:
            gc.unfreeze()
            self.frozen = False
        if self._was_enabled:
            gc.enable()


_installed: GarbageCollector | None = None


def install(parent: QObject) -> GarbageCollector:
    """Start the policy for this process (once; later calls return the running one)."""
    global _installed
    if _installed is None:
        _installed = GarbageCollector(parent)
    return _installed


def installed() -> GarbageCollector | None:
    return _installed


def uninstall() -> None:
    global _installed
    if _installed is not None:
        _installed.uninstall()
        _installed = None
