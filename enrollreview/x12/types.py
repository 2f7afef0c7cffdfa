"""Small value types shared by the reader, the walker and the model."""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple


@dataclass(frozen=True, slots=True)
class Delimiters:
    element: str = "*"
    component: str = ":"
    repetition: str = "^"
    segment: str = "~"


class Segment(NamedTuple):
    """One segment as read from the file.

    ordinal: 1-based position of the segment in the file (ISA = 1); pyx12 calls it cur_line.
    offset:  byte offset of the segment's first character in the file.
    text:    the segment without its terminator (leading CR/LF removed, as pyx12 does).
    fields:  text split on the element separator; fields[0] is the segment id.
    """

    ordinal: int
    offset: int
    text: str
    fields: list[str]

    @property
    def seg_id(self) -> str:
        return self.fields[0]

    def get(self, pos: int) -> str:
        """Element `pos` (1-based), or '' when absent."""
        f = self.fields
        return f[pos] if pos < len(f) else ""


# Finding levels, from the outside in.
INTERCHANGE = "interchange"
GROUP = "group"
TRANSACTION = "transaction"
SEGMENT = "segment"
ELEMENT = "element"


@dataclass(frozen=True, slots=True)
class Finding:
    """A TR3 (syntax/structure) finding, the substance of one pyx12 error node.

    ordinal: segment ordinal the finding is attached to (pyx12's cur_line); 0 when none.
    level:   one of INTERCHANGE, GROUP, TRANSACTION, SEGMENT, ELEMENT.
    code:    pyx12/999 code: IK3 segment codes '1'..'8' (and pyx12's 'SEG1', 'HL1' ...), IK4
             element codes '1'..'10', IK5/AK9 transaction and group codes, TA1-style ISA codes ('023').
    seg_id:  id of the segment at `ordinal` ('' when none).
    element: element reference such as 'N301' or 'INS06-01', when the finding is about an element.
    message: one line in plain words a clerk can act on.
    """

    ordinal: int
    level: str
    code: str
    seg_id: str
    message: str
    element: str | None = None
    ele_pos: int | None = None
    sub_pos: int | None = None
