"""The desktop user interface: the only package that imports PySide6."""

from __future__ import annotations

import sys


def _guard_none_refcount() -> None:
    """Work around a PySide6 6.12.0 bug on CPython 3.11: every call of a C++ method that returns
    void (setText, setValue, show, ...) drops one reference to None, so a running window crashes
    with "Fatal Python error: none_dealloc: deallocating None" after a few thousand calls. CPython
    3.12+ makes None immortal (PEP 683), and PySide6 6.11.2 does not have the bug; here we give
    None a reference count it cannot run out of. Only for CPython < 3.12 with PySide6 6.12.x.
    """
    if sys.version_info >= (3, 12) or sys.implementation.name != "cpython":
        return
    try:
        import PySide6
    except ImportError:
        return
    if not str(getattr(PySide6, "__version__", "")).startswith("6.12."):
        return
    import ctypes

    refcnt = ctypes.c_ssize_t.from_address(id(None))   # ob_refcnt is the first field of PyObject
    if refcnt.value < (1 << 40):
        refcnt.value += 1 << 42


_guard_none_refcount()
