"""The desktop user interface: the only package that imports PySide6.

PySide6-Essentials is pinned below 6.12: 6.12.0 drops a reference to None on every call of a C++
method that returns void, which crashes a long-running window on CPython 3.11 ("none_dealloc").
"""
