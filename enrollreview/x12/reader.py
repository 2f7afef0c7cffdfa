"""Tokenize X12 bytes into segments with their file positions.

The file is decoded as latin-1 so that one character is one byte: every offset we keep is a real
byte offset into the file as received, whatever junk it contains. Delimiters come from the ISA
(element separator = ISA[3], repetition = ISA11, component = ISA16, segment terminator = the
character after ISA16), exactly as pyx12 reads them, with leniency where it is safe: a UTF-8 BOM,
blank lines before the ISA and an ISA that lost its fixed-width padding are read, each with an
envelope finding, instead of being thrown away.

Unusable input raises `UnreadableFile` with a one-line reason a clerk can act on.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Final

from .types import INTERCHANGE, SEGMENT, Delimiters, Finding, Segment

ISA_LEN: Final = 106
_BOM: Final = b"\xef\xbb\xbf"
_CHUNK: Final = 1 << 20
_LINE_BREAKS: Final = "\r\n"
_new_segment: Final = tuple.__new__
_SEGMENT: Final = Segment


class UnreadableFile(Exception):
    """The bytes cannot be read as an X12 interchange. str(exc) is the reason, one line."""


@dataclass
class ReadResult:
    delims: Delimiters
    isa_fields: list[str]
    #: findings about the physical file (BOM, padding, empty segments, truncation); the walker adds TR3 ones
    findings: list[Finding] = field(default_factory=list)
    text: str = ""
    start: int = 0

    def segments(self) -> Iterator[Segment]:
        """Yield every segment of the file in order. Call once."""
        yield from _split(self)


def _printable_start(text: str) -> str:
    head = text[:12]
    shown = "".join(c if 32 <= ord(c) < 127 else "?" for c in head)
    return shown


def read_interchanges(data: bytes) -> ReadResult:
    """Check the envelope start and find the delimiters. Segments come from `ReadResult.segments()`."""
    if not data or not data.strip():
        raise UnreadableFile("The file is empty.")
    findings: list[Finding] = []
    start = 0
    if data.startswith(_BOM):
        start = len(_BOM)
        findings.append(
            Finding(1, INTERCHANGE, "BOM", "ISA", "The file starts with a UTF-8 byte-order mark before the ISA; "
                    "it was ignored. Ask the sender to send plain ASCII.")
        )
    text = data.decode("latin-1")
    stripped = len(text) - len(text[start:].lstrip(" \t\r\n\x00"))
    if stripped > start:
        findings.append(
            Finding(1, INTERCHANGE, "LEAD", "ISA", "Blank space before the ISA segment was ignored.")
        )
        start = stripped
    if text[start:start + 3] != "ISA":
        if b"\x00" in data[:512] or sum(1 for b in data[:512] if b < 9 or 13 < b < 32) > 4:
            raise UnreadableFile("Not an X12 file: it contains binary data, not text segments.")
        raise UnreadableFile(
            f"Not an X12 file: it should begin with 'ISA' but begins with '{_printable_start(text[start:])}'."
        )
    if len(text) - start < 16:
        raise UnreadableFile("The file ends inside the ISA segment (truncated).")
    ele = text[start + 3]
    if ele.isalnum() or ele in " \r\n":
        raise UnreadableFile(f"The ISA segment has an unusable element separator '{ele}'.")
    delims, isa_fields, fixed = _parse_isa(text, start, ele, findings)
    if not fixed:
        findings.append(
            Finding(1, INTERCHANGE, "ISA-LEN", "ISA",
                    "The ISA segment is not the fixed 106 characters (its padding was lost); it was read "
                    "by its separators instead. Ask the sender to pad ISA fields to their fixed width.")
        )
    return ReadResult(delims=delims, isa_fields=isa_fields, findings=findings, text=text, start=start)


def _parse_isa(text: str, start: int, ele: str, findings: list[Finding]) -> tuple[Delimiters, list[str], bool]:
    isa = text[start:start + ISA_LEN]
    # The fixed-width reading, as pyx12 does it.
    if len(isa) == ISA_LEN and isa.count(ele) == 16 and isa[103] == ele:
        comp, term = isa[104], isa[105]
        if term in "\r\n" and _ends_lines(text, start + ISA_LEN, comp):
            # "...*P*~\n": ISA16 is missing and the '~' we took for it is the real terminator.
            return _parse_isa_lenient(text, start, ele, findings)
        if term not in (ele, comp) and not term.isalnum():
            fields = isa[:103].split(ele)
            fields.append(comp)
            rep = fields[11] if len(fields[11]) == 1 else "^"
            return Delimiters(ele, comp, rep, term), fields, True
    return _parse_isa_lenient(text, start, ele, findings)


def _ends_lines(text: str, pos: int, char: str) -> bool:
    """True when the next two lines after `pos` both end with `char` (a terminator followed by EOL)."""
    lines = text[pos:pos + 2000].lstrip("\r\n").splitlines()[:2]
    return bool(lines) and all(line.rstrip(" ").endswith(char) for line in lines)


def _parse_isa_lenient(
    text: str, start: int, ele: str, findings: list[Finding]
) -> tuple[Delimiters, list[str], bool]:
    # Lenient reading: walk 16 separators; ISA16 is one character and the terminator follows.
    pos = start
    for _ in range(16):
        pos = text.find(ele, pos + 1)
        if pos < 0 or pos - start > 200:
            raise UnreadableFile("The ISA segment is incomplete: it should have 16 elements.")
    rest = text[pos + 1:pos + 3]
    if len(rest) < 2:
        raise UnreadableFile("The file ends inside the ISA segment (truncated).")
    comp, term = rest[0], rest[1]
    fields = text[start:pos].split(ele)
    if comp in "~\r\n" or term.isalnum() or term == " ":
        # ISA16 is missing: what follows the last separator is already the terminator.
        term = comp
        comp = ":" if ele != ":" else ">"
        findings.append(
            Finding(1, INTERCHANGE, "ISA16", "ISA",
                    f"ISA16 (the component separator) is missing; '{comp}' was assumed. Ask the sender "
                    "to correct the ISA.", element="ISA16", ele_pos=16)
        )
        fields.append(comp)
        end_fixed = True  # the ISA16 finding already says what is wrong
    else:
        fields.append(comp)
        end_fixed = pos + 3 - start == ISA_LEN
    rep = fields[11] if len(fields) > 11 and len(fields[11]) == 1 else "^"
    return Delimiters(ele, comp, rep, term), fields, end_fixed


def _split(rr: ReadResult) -> Iterator[Segment]:
    yield from iter_segments(rr.text, rr.start, len(rr.text), rr.delims, 1, rr.findings, final=True)


def iter_segments(
    text: str, begin: int, end: int, delims: Delimiters, first_ordinal: int, findings: list[Finding],
    *, final: bool, base: int = 0,
) -> Iterator[Segment]:
    """Yield the segments of text[begin:end], numbering them from `first_ordinal`.

    `begin` must be the start of a segment (or of blank space before one). With `final`, text after
    the last terminator is reported as a truncated segment; parallel chunks that end at a segment
    boundary pass final=False. `base` is added to every offset (text may be a slice of the file).
    """
    term, ele = delims.segment, delims.element
    strip_cr = term == "\n"
    pos = begin
    ordinal = first_ordinal - 1
    while pos < end:
        stop = min(end, pos + _CHUNK)
        cut = text.rfind(term, pos, stop)
        if cut < 0:
            cut = text.find(term, stop, end)
            if cut < 0:
                break
        chunk = text[pos:cut]
        at = pos + base
        for raw in chunk.split(term):
            if raw[:1] in _LINE_BREAKS and raw:
                seg = raw.lstrip("\r\n")
                lead = len(raw) - len(seg)
            else:
                seg, lead = raw, 0
            if strip_cr and seg.endswith("\r"):
                seg = seg[:-1]
            if seg:
                ordinal += 1
                # tuple.__new__ skips NamedTuple's Python-level __new__ (a third of the reader's time)
                yield _new_segment(_SEGMENT, (ordinal, at + lead, seg, seg.split(ele)))
            elif not raw.strip("\r\n ") and ordinal >= first_ordinal:
                findings.append(
                    Finding(ordinal, SEGMENT, "EMPTY", "", "An empty segment (two terminators in a row) "
                            "follows this segment; it was skipped.")
                )
            at += len(raw) + 1
        pos = cut + 1
    if not final:
        return
    tail = text[pos:end]
    if tail.strip(" \t\r\n\x00\x1a"):
        findings.append(
            Finding(ordinal, SEGMENT, "TRUNC", "",
                    f"The file ends in the middle of a segment ({len(tail.strip())} bytes after the last "
                    "segment terminator were not read): the file is probably truncated.")
        )
