"""NULL for the parameters of a bulk INSERT, bound without the sqlite3 module's slow path for None.

Python's sqlite3 binds int, float, str and bytearray directly, but sends every other value, None
included, through its adapter registry first (two failed attribute lookups: about 3,300 instructions
a parameter). A 100,000-member import binds about 1.7 million NULLs. SQLite stores a NaN as NULL
(`typeof()` says 'null'), so a NaN bound as a float costs nothing extra and gives the same NULL. Use
it only for values written by executemany; read-back rows still hold None.
"""

from __future__ import annotations

from typing import Final

NULL: Final = float("nan")
