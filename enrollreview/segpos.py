"""Where each stored segment came from: the `segs` column of members and transactions.

Line i of a row's `raw` text is one segment of the file; `segs` says, for each line, its ordinal in the
file (pyx12's segment count, ISA = 1), its loop path ("2000/2300") and the byte offset of its first
character. Two encodings are stored, and `decode` reads both:

* the run form (written since session 7), for the usual case of consecutive segments separated by the
  same number of bytes (terminator plus line break, if any):
  ``{"o": first_ordinal, "f": first_offset, "g": gap, "r": [["2000", 4], ["2000/2300", 5], ...]}``:
  segment i has ordinal o + i and offset f + sum(len(line j) + g for j < i), and the loop paths come in
  runs of equal consecutive values. About 140 bytes a member instead of 540: the members table of a
  100,000-member file shrinks from 130 to 81 MB, and the import writes it about 0.5 s sooner;
* the list form ``[[ordinal, loop_path, offset], ...]``, one triple per line: what older stores hold, and
  what the parser still writes for any row the run form cannot describe exactly.

The parser (`parse.segs_text`) checks the run form against the real positions before it uses it.
"""

from __future__ import annotations

import json
from typing import Any


def decode(segs: str | None, lines: list[str]) -> list[list[Any]]:
    """[[ordinal, loop_path, offset], ...] for the lines of `raw` (`raw.split("\\n")`); [] for a missing
    or unreadable value."""
    if not segs:
        return []
    try:
        v = json.loads(segs)
    except ValueError:
        return []
    if isinstance(v, list):
        return v
    if not isinstance(v, dict):
        return []
    ordinal, offset, gap = v.get("o", 0), v.get("f", 0), v.get("g", 1)
    out: list[list[Any]] = []
    i = 0
    for loop, count in v.get("r", []):
        for _ in range(count):
            out.append([ordinal + i, loop, offset])
            offset += (len(lines[i]) if i < len(lines) else 0) + gap
            i += 1
    return out
