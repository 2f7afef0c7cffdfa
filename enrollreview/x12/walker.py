"""Fast, streaming 834 validator that gives the same findings and loop ids as pyx12 4.0.0.

pyx12 validates ~5,500 segments/s; an import needs ~30x that. This module compiles pyx12's own map
(``834.5010.X220.A1.xml``, plus ``x12.control.00501.xml`` for the ISA) once into small node objects and
replays, per segment, what ``pyx12.x12n_document`` does:

* ``X12Reader``: leading space, trailing element separator, empty segment, bad segment id, and the
  envelope bookkeeping (control numbers, SE01/GE01/IEA01 counts, trailers missing at end of file);
* ``map_walker.walk_tree``: find the segment in the current loop, then child loops, then pop to parent
  loops; loop/segment repeat counters; "mandatory segment/loop missing" kept pending until the walk has
  certainly moved on;
* ``segment_if.is_valid_errors``: usage, length, character set, code lists, data types, dates and
  times, control characters, composites, syntax rules;
* ``error_handler``: which node an error hangs on. pyx12 silently loses some errors (for example a
  segment-level error raised while the current node is an ISA/GS/ST node, or anything before the first
  ST); the walker loses exactly the same ones, so that it agrees with pyx12 finding for finding.

Speed (about 70x pyx12) comes from three things. pyx12's search for the next map node depends only on
the start node and the segment's id and qualifier, so it runs once per such triple and is kept as a
small "program" (see _Trace) that is replayed against the counters, which are a flat list reset by
slices. Element checks are cached per (map element, value) and whole-segment checks per (map node,
segment text), since most segments of an 834 repeat exactly or share most values. And nothing pyx12
allocates per segment (Segment, X12Path, NodeCounter keys, error nodes) is allocated here.

Finding.ordinal follows the same rules as ``pyx12_ref`` (see there). Messages are plain words for a
clerk; ``code`` is pyx12's code, so a finding can still be matched to pyx12's (or a 999's) output.

Where the walker does not (cannot) agree with pyx12, on purpose:

* pyx12 crashes: a composite with more components than the map has (IndexError; this includes every
  legal 5010 repeated composite such as DMG05 ``C:RET:2135-2^C:RET:2106-3``, because pyx12 reads the
  repetition separator but never applies it -- neither does the walker, so the extra components are
  reported as "too many components"); a second GE/IEA after its envelope is closed (IndexError in
  X12Reader); a non-numeric GE01 (ValueError); an error with no node to hang on before the first ST
  (AttributeError); a GS08/GS01 pyx12 has no map for (EngineError). The walker reports and goes on.
* A group whose GS08/GS01 select another guide than X220A1: pyx12 would switch to that guide's map;
  the walker reports a GS08 finding and keeps checking against X220A1. 4010 files (ISA12 00401)
  likewise are checked against the 5010 control map. The product rejects both before walking.
* Errors pyx12 loses (see above) are lost here too. A leading space before GS/ST, a trailing
  separator on ST/GE/IEA, or "too many elements" in an envelope segment are therefore not reported.
"""

from __future__ import annotations

import re
import threading
from bisect import bisect_left
from collections.abc import Iterable
from operator import itemgetter
from typing import Any, Final

from pyx12.validation import IsValidDataType, contains_control_character

from .types import ELEMENT, GROUP, INTERCHANGE, SEGMENT, TRANSACTION, Delimiters, Finding, Segment

MAP_FILE: Final = "834.5010.X220.A1.xml"
CONTROL_MAP_FILE: Final = "x12.control.00501.xml"
#: Loops that are pyx12 plumbing rather than implementation-guide loops; left out of loop paths.
SKIP_LOOPS: Final = frozenset({"ISA_LOOP", "GS_LOOP", "ST_LOOP", "HEADER", "DETAIL", "LS_LOOP"})
_ENVELOPE: Final = frozenset({"ISA", "IEA", "GS", "GE", "ST", "SE"})
_DATE_TYPES: Final = frozenset({"RD8", "DT", "D8", "D6"})
_DTP_TYPES: Final = frozenset({"RD8", "D8", "D6", "DT", "TM"})
_SEG_ID_RX: Final = re.compile(r"^[A-Z][A-Z0-9]{1,2}$", re.S)
# Characters pyx12 reports as control characters (validation.contains_control_character).
_CTRL_RX: Final = re.compile("[\x01-\x07\x09-\x0d\x11-\x17\x1c-\x1f]")
# pyx12's 5010 extended character set (validation.rec_ID_E5), as a positive class.
_E5_CLASS: Final = r"""[A-Z0-9!"&'()*+,\-\./:;?= a-z%~@\[\]_{}\\|<>^`#$]"""
_CTRL_NAMES: Final = {
    "BEL": "bell",
    "HT": "tab",
    "LF": "line feed",
    "VT": "vertical tab",
    "FF": "form feed",
    "CR": "carriage return",
    "FS": "file separator",
    "GS": "group separator",
    "RS": "record separator",
    "US": "unit separator",
}
_TYPE_WORDS: Final = {
    "AN": "text",
    "ID": "code",
    "N0": "whole-number",
    "N2": "number (2 implied decimals)",
    "R": "decimal-number",
    "DT": "date",
    "TM": "time",
}
_CACHE_LIMIT: Final = 4096  # entries per map node before its cache is emptied (bounds memory on 2M segments)

_SEG, _LOOP, _ROOT = 0, 1, 2


# ----------------------------------------------------------------------------------------------------
# Compiled map
# ----------------------------------------------------------------------------------------------------
class _Ele:
    """One simple element or sub-element of a segment node (pyx12 element_if)."""

    __slots__ = (
        "refdes",
        "name",
        "usage",
        "dtype",
        "min_len",
        "max_len",
        "codes",
        "code_check",
        "rx",
        "res",
        "data_ele",
        "ele_pos",
        "sub_pos",
        "empty_errs",
        "static_types",
        "fast",
        "cache",
        "icvn",
        "charset",
    )

    def __init__(self, e: Any, ext_codes: Any, charset: str, icvn: str, in_comp: Any) -> None:
        self.refdes = e.id
        self.name = e.name or ""
        self.usage = e.usage
        self.dtype = e.data_type
        self.min_len = e.min_len
        self.max_len = e.max_len
        self.data_ele = e.data_ele
        self.rx = e.rec
        self.res = e.res
        self.icvn = icvn
        self.charset = charset
        if in_comp is not None:
            self.ele_pos, self.sub_pos = in_comp.seq, e.seq
        else:
            self.ele_pos, self.sub_pos = e.seq, None
        # Code list check, as element_if._is_valid_code: the map's codes, else an external code set.
        self.codes: frozenset[Any] | None = None
        ext = e.external_codes
        excluded = ext is not None and ext in ext_codes.exclude_list  # every value passes: no code check
        if not excluded and (e._valid_codes_set or ext is not None):
            codes = set(e._valid_codes_set)
            if ext is not None:
                # (pyx12 raises EngineError for an undefined external list; the maps define them all)
                codes |= ext_codes.codes.get(ext, {}).get("codes", frozenset())
            self.codes = frozenset(codes)
        self.code_check = self.codes is not None
        # Mandatory-when-empty rule (element_if._validate_when_empty).
        self.empty_errs: tuple[tuple[str, str], ...] = ()
        if self.usage == "R" and (e.seq != 1 or in_comp is None or in_comp.usage == "R"):
            self.empty_errs = (("1", f"{self.refdes} ({self.name}) is required but missing"),)
        self.static_types: tuple[str, ...] = ()
        # A value matching `fast` passes every check; only AN elements without codes or regex get one.
        self.fast: re.Pattern[str] | None = None
        if (
            self.dtype == "AN"
            and not self.code_check
            and self.rx is None
            and self.usage != "N"
            and charset == "E"
            and icvn == "00501"
            and self.min_len >= 1
        ):
            self.fast = re.compile(f"{_E5_CLASS}{{{self.min_len},{self.max_len}}}(?<! )", re.S)
        self.cache: dict[Any, tuple[tuple[str, str], ...]] = {}

    def check(self, val: str, types: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
        """Errors for a non-empty value, as element_if.is_valid_errors (cached)."""
        key = (val, types) if types else val
        r = self.cache.get(key)
        if r is None:
            if not types and self.fast is not None and self.fast.fullmatch(val):
                return ()
            r = self._compute(val, types)
            if len(self.cache) >= _CACHE_LIMIT:
                self.cache.clear()
            self.cache[key] = r
        return r

    def _compute(self, val: str, types: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
        ref = self.refdes
        if self.usage == "N":
            return (("10", f"{ref} ({self.name}) is not used in this guide but has the value '{val}'"),)
        out: list[tuple[str, str]] = []
        dtype = self.dtype
        if dtype is not None and (dtype == "R" or dtype[0] == "N"):
            length = len(val.replace("-", "").replace(".", ""))
        else:
            length = len(val)
        if length < self.min_len:
            out.append(("4", f"{ref} '{val}' is too short (min {self.min_len})"))
        if length > self.max_len:
            out.append(("5", f"{ref} '{val}' is too long (max {self.max_len})"))
        if _CTRL_RX.search(val):
            bad = contains_control_character(val)[1] or ""
            word = _CTRL_NAMES.get(bad.strip("<>"), "control character " + bad.strip("<>"))
            out.append(("6", f"{ref} contains a control character ({word})"))
            return tuple(out)
        if dtype in ("AN", "ID") and val[-1] == " " and len(val.rstrip()) >= self.min_len:
            out.append(("6", f"{ref} '{val}' has unnecessary trailing spaces"))
        if self.code_check and val not in self.codes:  # type: ignore[operator]
            out.append(("7", f"{ref} '{val}' is not a valid code"))
        if not valid_data_type(val, dtype, self.charset, self.icvn):
            if dtype in _DATE_TYPES:
                out.append(("8", f"{ref} '{val}' is not a valid date"))
            elif dtype == "TM":
                out.append(("9", f"{ref} '{val}' is not a valid time"))
            else:
                word = _TYPE_WORDS.get(dtype or "", dtype or "")
                out.append(("6", f"{ref} '{val}' has characters not allowed in a {word} field"))
        if types:
            ok = False
            for t in types:
                if t is not None:
                    ok |= valid_data_type(val, t, self.charset)
            if not ok:
                if "TM" in types:
                    out.append(("9", f"{ref} '{val}' is not a valid time"))
                elif any(t in types for t in _DATE_TYPES):
                    out.append(("8", f"{ref} '{val}' is not a valid date"))
        if self.rx is not None and not self.rx.search(val):
            out.append(("7", f"{ref} '{val}' does not have the expected format"))
        return tuple(out)


def valid_data_type(val: str, dtype: str | None, charset: str, icvn: str = "00401") -> bool:
    """pyx12's IsValidDataType, answering its most frequent question here: is an 8-digit value a real
    date (DT, D8)? Compiled, a call into pyx12 costs about 9,000 instructions; the answer is the same
    (tests/test_walker.py compares every value of 50 years between 1790 and 2110, impossible dates
    included)."""
    if (dtype == "D8" or dtype == "DT") and len(val) == 8 and val.isascii() and val.isdigit():
        return _real_date(int(val[:4]), int(val[4:6]), int(val[6:]))
    return IsValidDataType(val, dtype, charset, icvn)


def _real_date(year: int, month: int, day: int) -> bool:
    """validation.is_valid_date's test of CCYYMMDD: no year before 1800, Gregorian leap years."""
    if year < 1800 or month < 1 or month > 12 or day < 1:
        return False
    if month in (1, 3, 5, 7, 8, 10, 12):
        return day <= 31
    if month in (4, 6, 9, 11):
        return day <= 30
    leap = year % 4 == 0 and not (year % 100 == 0 and year % 400 != 0)
    return day <= (29 if leap else 28)


class _Comp:
    """A composite of a segment node (pyx12 composite_if)."""

    __slots__ = ("refdes", "name", "usage", "subs", "n", "cache")

    def __init__(self, c: Any, subs: list[_Ele]) -> None:
        self.refdes = c.refdes
        self.name = c.name or ""
        self.usage = c.usage
        self.subs = tuple(subs)
        self.n = len(subs)
        self.cache: dict[str, tuple[Any, ...]] = {}


# A validation record: (is_element, code, element or None, message).
_Rec = tuple[bool, str, "_Ele | None", str]


class _Node:
    __slots__ = ("kind", "id", "name", "usage", "pos", "max_repeat", "slot", "parent", "eqkey", "path")

    kind: int
    id: str
    name: str
    usage: str
    pos: int
    max_repeat: int
    slot: int
    parent: _Loop | None
    eqkey: tuple[str, str]
    path: str


class _Loop(_Node):
    __slots__ = ("children", "poses", "first", "first_seg", "reset", "reset_zeros", "label")

    children: list[_Node]
    poses: list[int]
    first: _Node | None
    first_seg: _Seg | None
    reset: slice | list[int]
    reset_zeros: list[int]
    label: str


class _Seg(_Node):
    __slots__ = (
        "key_idx",
        "key_sub",
        "key_codes",
        "loop_path",
        "loop_label",
        "elems",
        "cc",
        "syntax",
        "vcache",
        "is_dtp",
        "plan",
        "tail",
    )

    key_idx: int
    key_sub: int | None
    key_codes: frozenset[Any]
    loop_path: str
    loop_label: str
    elems: tuple[_Ele | _Comp, ...]
    cc: int
    syntax: tuple[tuple[str, tuple[int, ...], str], ...]
    vcache: dict[str, tuple[_Rec, ...]]
    is_dtp: bool
    plan: tuple[tuple[int, Any, bool], ...]
    tail: tuple[tuple[_Rec, ...], ...]


class _Compiled:
    """Both maps as plain objects, plus the shared counter slots (by pyx12 X12Path)."""

    def __init__(self) -> None:
        import pyx12.map_if
        import pyx12.map_index
        import pyx12.params
        import pyx12.path

        param = pyx12.params.params()
        self.charset: str = param.get("charset")
        self.slots: dict[str, int] = {}
        self._x12path = pyx12.path.X12Path
        m834 = pyx12.map_if.load_map_file(MAP_FILE, param)
        ctl = pyx12.map_if.load_map_file(CONTROL_MAP_FILE, param)
        self.all_nodes: list[_Node] = []
        self.root = self._build_root(m834)
        self.ctl_root = self._build_root(ctl)
        self.nslots = len(self.slots)
        self._finish_resets()
        segs = [n for n in self.all_nodes if isinstance(n, _Seg)]
        # Walk programs are keyed on element 01 only for ids some node qualifies by element 01;
        # ids qualified elsewhere (none in these maps) are traced every time.
        self.keyed_ids = frozenset(n.id for n in segs if n.key_idx)
        self.uncacheable_ids = frozenset(
            n.id for n in segs if n.key_idx and not (n.key_idx == 1 and n.key_sub is None)
        )
        self.programs: dict[tuple[Any, str, str | None], _Program] = {}
        self.ctl_isa = self._find(self.ctl_root, ["ISA_LOOP", "ISA"])
        self.ctl_gs = self._find(self.ctl_root, ["ISA_LOOP", "GS_LOOP", "GS"])
        self.map_gs = self._find(self.root, ["ISA_LOOP", "GS_LOOP", "GS"])
        self.slot_isa_loop = self.slots[self._slot_key("/ISA_LOOP")]
        self.slot_isa = self.slots[self._slot_key("/ISA_LOOP/ISA")]
        self.slot_gs_loop = self.slots[self._slot_key("/ISA_LOOP/GS_LOOP")]
        self.slot_gs = self.slots[self._slot_key("/ISA_LOOP/GS_LOOP/GS")]
        self.isa_loop_reset = self._reset_for("/ISA_LOOP")
        self.gs_loop_reset = self._reset_for("/ISA_LOOP/GS_LOOP")
        # Which (ISA12, GS08, GS01) select our map, as pyx12's maps.xml says.
        self._map_index = pyx12.map_index.map_index(None)
        self._map_ok: dict[tuple[Any, Any, Any], str | None] = {}

    def map_for(self, icvn: str | None, vriic: str | None, fic: str | None) -> str | None:
        key = (icvn, vriic, fic)
        if key not in self._map_ok:
            self._map_ok[key] = self._map_index.get_filename(icvn, vriic, fic)
        return self._map_ok[key]

    # -- building ------------------------------------------------------------------------------------
    def _slot_key(self, path: str) -> str:
        return self._x12path(path).format()

    def _slot(self, path: str) -> int:
        key = self._slot_key(path)
        if key not in self.slots:
            self.slots[key] = len(self.slots)
        return self.slots[key]

    def _build_root(self, m: Any) -> _Loop:
        root = _Loop()
        root.kind, root.id, root.name, root.usage, root.pos = _ROOT, m.id, m.name or "", "R", 0
        root.max_repeat, root.slot, root.parent, root.path = 1, -1, None, "/"
        root.eqkey = (m.id or "", "")
        root.label = ""
        self._build_children(root, m, m)
        return root

    def _build_children(self, loop: _Loop, src: Any, m: Any) -> None:
        loop.children, loop.poses = [], []
        for pos in sorted(src.pos_map):
            for child in src.pos_map[pos]:
                node = (
                    self._build_loop(child, loop, m) if child.is_loop() else self._build_seg(child, loop, m)
                )
                loop.children.append(node)
                loop.poses.append(pos)
        loop.first = loop.children[0] if loop.children else None
        loop.first_seg = loop.first if isinstance(loop.first, _Seg) else None

    def _common(self, node: _Node, src: Any, parent: _Loop) -> None:
        node.id, node.name, node.usage, node.pos = src.id, src.name or "", src.usage, src.pos
        node.parent = parent
        node.eqkey = (src.id or "", src.parent.id or "")
        node.path = src.x12path.format()
        node.slot = self._slot(node.path)
        node.max_repeat = src.get_max_repeat()
        self.all_nodes.append(node)

    def _build_loop(self, src: Any, parent: _Loop, m: Any) -> _Loop:
        loop = _Loop()
        loop.kind = _LOOP
        self._common(loop, src, parent)
        loop.label = "/".join(x for x in src.x12path.loop_list + [src.id] if x not in SKIP_LOOPS)
        self._build_children(loop, src, m)
        return loop

    def _build_seg(self, src: Any, parent: _Loop, m: Any) -> _Seg:
        seg = _Seg()
        seg.kind = _SEG
        self._common(seg, src, parent)
        seg.loop_path = "/".join(x for x in src.x12path.loop_list if x not in SKIP_LOOPS)
        seg.loop_label = f"loop {seg.loop_path}" if seg.loop_path else _area(src.x12path.loop_list)
        key = src._resolve_unique_key_field(src.id, with_qual=False)
        if key is None:
            seg.key_idx, seg.key_sub, seg.key_codes = 0, None, frozenset()
        else:
            seg.key_idx, seg.key_sub, seg.key_codes = key[1], key[2], key[0]._valid_codes_set
        icvn = m.icvn or "00401"
        elems: list[_Ele | _Comp] = []
        type_list: list[str] = []
        for child in src.children:
            if child.is_composite():
                subs = [_Ele(e, m.ext_codes, self.charset, icvn, child) for e in child.children]
                elems.append(_Comp(child, subs))
            else:
                ele = _Ele(child, m.ext_codes, self.charset, icvn, None)
                # segment_if.is_valid_errors checks a 1251 value against the codes of the 1250
                # elements before it (DMG02 against DMG01's 'D8'); that list is static.
                if child.data_ele == "1251" and type_list:
                    ele.static_types = tuple(type_list)
                if child.data_ele == "1250":
                    type_list.extend(child.valid_codes)
                elems.append(ele)
        seg.elems = tuple(elems)
        seg.cc = len(elems)
        seg.plan = tuple((i + 1, e, isinstance(e, _Comp)) for i, e in enumerate(elems))
        # Errors for elements missing at the end of the segment, for each possible element count.
        tails: list[tuple[_Rec, ...]] = []
        for m0 in range(seg.cc + 1):
            recs: list[_Rec] = []
            for e in elems[m0:]:
                if isinstance(e, _Comp):
                    if e.usage == "R":
                        recs.append((False, "1", None, f"{e.refdes} ({e.name}) is required but missing"))
                else:
                    recs += _ele_recs(e, e.empty_errs)
            tails.append(tuple(recs))
        seg.tail = tuple(tails)
        syn = []
        for s0 in src.syntax:
            idx = tuple(int(x) for x in s0[1:])
            syn.append((s0[0], idx, _syntax_message(src.id, s0[0], idx)))
        seg.syntax = tuple(syn)
        seg.vcache = {}
        seg.is_dtp = src.id == "DTP"
        return seg

    def _reset_for(self, path: str) -> tuple[slice | list[int], list[int]]:
        prefix = self._slot_key(path) + "/"
        kids = sorted(s for p, s in self.slots.items() if p.startswith(prefix))
        if kids and kids == list(range(kids[0], kids[-1] + 1)):
            return slice(kids[0], kids[-1] + 1), [0] * len(kids)
        return kids, []

    def _finish_resets(self) -> None:
        for node in self.all_nodes:
            if isinstance(node, _Loop):
                node.reset, node.reset_zeros = self._reset_for(node.path)

    @staticmethod
    def _find(root: _Loop, ids: list[str]) -> _Seg:
        node: _Node = root
        for i in ids:
            assert isinstance(node, _Loop)
            node = next(c for c in node.children if c.id == i)
        assert isinstance(node, _Seg)
        return node


def _area(loop_list: list[str]) -> str:
    if "HEADER" in loop_list:
        return "the transaction header"
    if "ST_LOOP" in loop_list:
        return "the transaction"
    if "GS_LOOP" in loop_list:
        return "the functional group"
    return "the interchange"


_compiled: _Compiled | None = None
_compile_lock = threading.Lock()


def compiled() -> _Compiled:
    """The compiled maps, built on first use (about 0.3 s: pyx12 parses its XML maps)."""
    global _compiled
    if _compiled is None:
        with _compile_lock:
            if _compiled is None:
                _compiled = _Compiled()
    return _compiled


def clear_caches() -> None:
    """Forget cached checks and walk programs: frees their memory after a big import, and lets a
    benchmark time a cold walker. (The caches are bounded anyway: _CACHE_LIMIT per node.)"""
    c = _compiled
    if c is None:
        return
    c.programs.clear()
    for node in c.all_nodes:
        if isinstance(node, _Seg):
            node.vcache.clear()
            for e in node.elems:
                e.cache.clear()
                if isinstance(e, _Comp):
                    for sub in e.subs:
                        sub.cache.clear()


# ----------------------------------------------------------------------------------------------------
# Segment validation (segment_if.is_valid_errors)
# ----------------------------------------------------------------------------------------------------
def _fmt(raw: str, sub: str) -> str:
    """pyx12 Composite.format(): the element text with trailing empty components dropped."""
    if sub not in raw:
        return raw
    parts = raw.split(sub)
    while len(parts) > 1 and parts[-1] == "":
        parts.pop()
    return sub.join(parts)


def _ele_recs(e: _Ele, errs: Iterable[tuple[str, str]]) -> list[_Rec]:
    return [(True, code, e, msg) for code, msg in errs]


def _check_comp(c: _Comp, raw: str | None, sub: str) -> tuple[_Rec, ...]:
    """composite_if.is_valid_errors; `raw` None when the segment ends before the composite."""
    key = None if raw is None else raw + sub
    if key is not None:
        hit = c.cache.get(key)
        if hit is not None:
            return hit
    parts = None if raw is None else raw.split(sub)
    empty = parts is None or all(p == "" for p in parts)
    out: list[_Rec] = []
    if empty and c.usage in ("N", "S"):
        pass
    elif c.usage == "R" and empty:
        out.append((False, "1", None, f"{c.refdes} ({c.name}) is required but missing"))
    elif c.usage == "N":
        out.append((False, "5", None, f"{c.refdes} ({c.name}) is not used in this guide but has a value"))
    else:
        assert parts is not None
        if len(parts) > c.n:
            out.append((False, "3", None, f"{c.refdes} has {len(parts)} components; at most {c.n} allowed"))
        for j, e in enumerate(c.subs):
            if j < len(parts) and parts[j] != "":
                out += _ele_recs(e, e.check(parts[j], ()))
            else:
                out += _ele_recs(e, e.empty_errs)
    res = tuple(out)
    if key is not None:
        if len(c.cache) >= _CACHE_LIMIT:
            c.cache.clear()
        c.cache[key] = res
    return res


def _syntax_message(sid: str, code: str, idx: tuple[int, ...]) -> str:
    def names(ix: Iterable[int]) -> str:
        lst = [f"{sid}{i:02d}" for i in ix]
        return lst[0] if len(lst) == 1 else ", ".join(lst[:-1]) + " or " + lst[-1]

    if len(idx) < 2:
        return f"{sid}: syntax rule {code} of the map is malformed"
    if code == "P":
        return f"{' and '.join(f'{sid}{i:02d}' for i in idx)} must be given together (some are missing)"
    if code == "R":
        return f"At least one of {names(idx)} is required"
    if code == "E":
        return f"Only one of {names(idx)} may be given"
    if code == "C":
        return f"{sid}{idx[0]:02d} is given, so {' and '.join(f'{sid}{i:02d}' for i in idx[1:])} required"
    if code == "L":
        return f"{sid}{idx[0]:02d} is given, so at least one of {names(idx[1:])} is required"
    return f"{sid}: unknown syntax rule {code} in the map"


def _syntax_broken(code: str, idx: tuple[int, ...], fields: list[str], sub: str, is_isa: bool) -> bool:
    """syntax.is_syntax_valid: True when the rule is broken. An element counts when its text,
    components stripped, is not empty (pyx12 Segment.get_value() != '')."""
    n = len(fields) - 1
    if len(idx) < 2:
        return True
    count = 0
    first = False
    for k, i in enumerate(idx):
        if i <= n:
            f = fields[i]
            if f and (is_isa or f.strip(sub)):
                count += 1
                if k == 0:
                    first = True
    if code == "P":
        return count != 0 and count != len(idx)
    if code == "R":
        return count == 0
    if code == "E":
        return count > 1
    if code == "C":
        return first and count - 1 != len(idx) - 1
    if code == "L":
        return first and count == 1
    return True


def _validate(node: _Seg, fields: list[str], sub: str, is_isa: bool) -> tuple[_Rec, ...]:
    """All element/segment errors pyx12 reports for this segment at this map node."""
    n = len(fields) - 1
    cc = node.cc
    out: list[_Rec] = []
    if n > cc:
        out.append((False, "3", None, f"{fields[0]} has {n} elements; at most {cc} allowed"))
    m = n if n < cc else cc
    dtype: tuple[str, ...] = ()
    is_dtp = node.is_dtp
    for i, elem, is_comp in node.plan[:m]:
        raw = fields[i]
        if is_comp:
            comp: _Comp = elem
            if sub in raw and raw.count(sub) + 1 > comp.n and comp.usage != "N":
                # pyx12 raises IndexError here (map_if/_segment.py); we report it instead.
                out.append((False, "3", None, f"{comp.refdes} has too many components"))
            recs = _check_comp(comp, raw, sub)
            if recs:
                out += recs
            continue
        # (typed, so that compiled code reads its attributes and calls its methods directly)
        child: _Ele = elem
        if is_dtp and i == 2:
            fv = _fmt(raw, sub)
            if fv in _DTP_TYPES:
                dtype = (fv,)
        if raw == "":
            if child.empty_errs:
                out += _ele_recs(child, child.empty_errs)
        elif sub in raw and not is_isa:
            shown = _fmt(raw, sub)
            out.append(
                (True, "6", child, f"{child.refdes} '{shown}' contains the component separator '{sub}'")
            )
        else:
            r = child.cache.get(raw)
            if r is None or (is_dtp and i == 3):
                types = dtype if (is_dtp and i == 3) else child.static_types
                r = child.check(raw, types)
            if r:
                out += _ele_recs(child, r)
    if m < cc:
        out += node.tail[m]
    if node.syntax:
        for code, idx, msg in node.syntax:
            if _syntax_broken(code, idx, fields, sub, is_isa):
                out.append((False, "10" if code == "E" else "2", None, msg))
    return tuple(out)


# ----------------------------------------------------------------------------------------------------
# The walker
# ----------------------------------------------------------------------------------------------------
_LEVEL: Final = {"isa": INTERCHANGE, "gs": GROUP, "st": TRANSACTION}


class Walker:
    """Feed it every segment of a file in order (``step``), then call ``finish``; read ``findings``.

    ``step`` returns the segment's loop path ('2000/2100A', '2000/2700/2750', '1000A', '' for the
    envelope and header). ``transaction`` is the current ST02.
    """

    def __init__(self, delims: Delimiters) -> None:
        c = compiled()
        self._c = c
        self._keyed_ids = c.keyed_ids
        self._programs = c.programs
        self.delims = delims
        self._ele = delims.element
        self._sub = delims.component
        self._seps = delims.element + delims.component
        self.findings: list[Finding] = []
        self.transaction: str | None = None
        self._counts: list[int] = [0] * c.nslots
        self._node: _Seg = c.ctl_isa
        # -- X12Reader state
        self._loops: list[tuple[str, str | None]] = []
        # control numbers seen so far (sets: a file may hold 100,000 STs in one group)
        self._isa_ids: set[str | None] = set()
        self._gs_ids: set[str | None] = set()
        self._st_ids: set[str | None] = set()
        self._gs_count = 0
        self._st_count = 0
        self._seg_count = 0
        self._hl_count = 0
        self._hl_stack: list[int | None] = []
        # reader errors not yet handed to the error tree: (kind, code, message, src_line, src_sid)
        self._src_errs: list[tuple[str, str, str, int | None, str]] = []
        # -- x12n_document state
        self._icvn: str | None = None
        # -- err_handler state: current ISA/GS/ST nodes as [open line, open id, close line, close id]
        self._isa: list[Any] | None = None
        self._gs: list[Any] | None = None
        self._st: list[Any] | None = None
        self._kind: str | None = None  # what cur_seg_node is: 'isa' | 'gs' | 'st' | 'seg'
        self._seg_added = True
        self._seg_line = 0
        self._seg_sid = ""
        # -- per-step scratch
        self._line = 0
        self._sid = ""
        self._fields: list[str] = []
        self._v1: str | None = None
        self._pending: list[tuple[str, bool, str]] = []

    # -- public -----------------------------------------------------------------------------------------
    def step(self, seg: Segment) -> str:
        """Process one segment; returns its loop path."""
        fields = seg.fields
        sid = fields[0]
        if sid not in _PLAIN_IDS:
            return self._step_any(seg)
        # The common case, same steps as _step_any for a valid, non-envelope segment id.
        text = seg.text
        line = seg.ordinal
        sub = self._sub
        if text[-1] == self._ele:
            self._src_errs.append(
                (
                    "seg",
                    "SEG1",
                    f"Segment {sid} ends with an empty element (a trailing '{self._ele}')",
                    line,
                    sid,
                )
            )
        if len(fields) > 1:
            f1 = fields[1]
            if not f1 or f1[0] == sub:
                if text[len(sid) :].strip(self._seps) == "":
                    self._src_errs.append(("seg", "8", f"Segment {sid} has no data", line, sid))
            self._v1 = _fmt(f1, sub) if sub in f1 else f1
        else:
            self._src_errs.append(("seg", "8", f"Segment {sid} has no data", line, sid))
            self._v1 = None
        self._seg_count += 1
        self._line = line
        self._sid = sid
        self._fields = fields
        orig = self._node
        node = self._walk(orig)
        if self._pending:
            self._apply_walk_errors()
        if node is None:
            return orig.loop_path
        self._kind = "seg"  # err_handler.add_seg
        self._seg_added = False
        self._seg_line = line
        self._seg_sid = sid
        if self._src_errs:
            self._handle_src_errors()
        recs = node.vcache.get(text + self._seps)
        if recs is None or recs:
            self._apply_segment_errors(node, fields, text, False)
        self._node = node
        return node.loop_path

    def _step_any(self, seg: Segment) -> str:
        line = seg.ordinal
        text = seg.text
        ele = self._ele
        fields = seg.fields
        # X12Reader.__iter__
        if text[:1] == " ":
            text = text.lstrip()
            fields = text.split(ele)
            self._src_errs.append(("seg", "1", "Segment starts with a space", line, fields[0]))
        if not text:
            # pyx12 raises IndexError on a segment that is only spaces; nothing more can be said of it.
            self.findings.append(Finding(line, SEGMENT, "8", "", "Segment contains nothing but spaces"))
            return self._node.loop_path
        sid = fields[0]
        if text[-1] == ele:
            self._src_errs.append(
                ("seg", "SEG1", f"Segment {sid} ends with an empty element (a trailing '{ele}')", line, sid)
            )
        self._line, self._sid, self._fields = line, sid, fields
        self._parse_segment(sid, text, fields, line)
        # x12n_document
        c = self._c
        orig = self._node
        node: _Seg | None
        if sid == "ISA":
            node = c.ctl_isa
            self._force(c.isa_loop_reset, c.slot_isa_loop, c.slot_isa)
        elif sid == "GS":
            node = c.ctl_gs
            self._force(c.gs_loop_reset, c.slot_gs_loop, c.slot_gs)
        else:
            if len(fields) > 1:
                f1 = fields[1]
                self._v1 = _fmt(f1, self._sub) if self._sub in f1 else f1
            else:
                self._v1 = None
            node = self._walk(orig)
            if self._pending:
                self._apply_walk_errors()
        if node is None:
            return orig.loop_path
        if sid == "ISA":
            self._isa = [line, sid, None, None]
            self._set_cur("isa")
            self._icvn = fields[12] if len(fields) > 12 else None
            self._handle_src_errors()
        elif sid == "IEA":
            self._handle_src_errors()
            self._close(self._isa, "isa")
        elif sid == "GS":
            node = self._select_map(fields, line)
            self._gs = [line, sid, None, None]
            self._set_cur("gs")
            self._handle_src_errors()
        elif sid == "GE":
            self._handle_src_errors()
            self._close(self._gs, "gs")
        elif sid == "ST":
            self._st = [line, sid, None, None]
            self.transaction = _fmt(fields[2], self._sub) if len(fields) > 2 else None
            self._set_cur("st")
            self._handle_src_errors()
        elif sid == "SE":
            self._handle_src_errors()
            self._close(self._st, "st")
        else:
            self._add_seg(line, sid)
            self._handle_src_errors()
        self._apply_segment_errors(node, fields, text, sid == "ISA")
        self._node = node
        return node.loop_path

    def resume(self, isa_ids: list[str], gs_ids: list[str], st_ids: list[str]) -> None:
        """Continue a file in the middle, for parse.py's chunks that run in parallel.

        Call it on a fresh walker that has just been fed the ISA and GS in force at the chunk's first
        ST, with the ISA13s of earlier interchanges in the file, the GS06s earlier in this interchange
        and the ST02s earlier in this group. Duplicate control numbers and the GE01/IEA01 counts then
        come out as one walker over the whole file would report them; loop counters and the walk
        itself need nothing, since every ST starts its loops afresh. Not exact only where pyx12 would
        carry something across the cut: segments between an SE and the next ST, and reader errors of
        a segment pyx12 could not place, which it hands to the next segment it can.
        """
        self._isa_ids.update(isa_ids)
        self._gs_ids.update(gs_ids)
        self._gs_count += len(gs_ids)
        self._st_ids = set(st_ids)
        self._st_count = len(st_ids)

    def finish(self) -> None:
        """End of data: report envelopes left open (X12Reader.cleanup) and errors still pending."""
        for kind, ident in self._loops:
            if kind == "ST":
                self._src_errs.append(("st", "2", f"Transaction {ident} has no SE trailer", None, ""))
            elif kind == "GS":
                self._src_errs.append(("gs", "3", f"Functional group {ident} has no GE trailer", None, ""))
            elif kind == "ISA":
                self._src_errs.append(("isa", "023", f"Interchange {ident} has no IEA trailer", None, ""))
        self._line = 0
        self._handle_src_errors(at_end=True)

    # -- X12Reader._parse_segment ------------------------------------------------------------------
    def _parse_segment(self, sid: str, text: str, fields: list[str], line: int) -> None:
        errs = self._src_errs
        rest = text[len(sid) :]
        if sid == "ISA":
            empty = all(f == "" for f in fields[1:])
        else:
            empty = rest.strip(self._ele + self._sub) == ""
        if empty:
            errs.append(("seg", "8", f"Segment {sid} has no data", line, sid))
        if sid not in _VALID_IDS and not (2 <= len(sid) <= 3 and _SEG_ID_RX.search(sid)):
            shown = sid.encode("unicode_escape").decode("ascii")
            errs.append(("seg", "1", f"'{shown}' is not a valid segment identifier", line, sid))
        elif sid not in _VALID_IDS and len(_VALID_IDS) < 1000:
            _VALID_IDS.add(sid)
            if sid not in _ENVELOPE and sid != "HL":
                _PLAIN_IDS.add(sid)
        if sid in _ENVELOPE:
            self._parse_envelope(sid, fields, line)
        elif sid == "HL":
            self._parse_hl(fields)
        if sid not in _ENVELOPE:
            self._seg_count += 1

    def _get(self, fields: list[str], i: int) -> str | None:
        """pyx12 Segment.get_value('NN') for non-ISA segments."""
        return _fmt(fields[i], self._sub) if i < len(fields) else None

    def _parse_envelope(self, sid: str, fields: list[str], line: int) -> None:
        errs = self._src_errs
        loops = self._loops
        if sid == "ISA":
            if len(fields) != 17:
                self.findings.append(
                    Finding(
                        line,
                        INTERCHANGE,
                        "ISA",
                        sid,
                        f"The ISA segment has {len(fields) - 1} elements, not 16",
                    )
                )
            icn = fields[13] if len(fields) > 13 else None
            if icn in self._isa_ids:
                errs.append(
                    ("isa", "025", f"Interchange control number {icn} is used twice in this file", 0, sid)
                )
            loops.append(("ISA", icn))
            self._isa_ids.add(icn)
            self._gs_count = 0
            self._gs_ids = set()
        elif sid == "GS":
            gcn = self._get(fields, 6)
            if gcn in self._gs_ids:
                errs.append(
                    ("gs", "6", f"Group control number {gcn} is used twice in this interchange", 0, sid)
                )
            self._gs_count += 1
            self._gs_ids.add(gcn)
            loops.append(("GS", gcn))
            self._st_count = 0
            self._st_ids = set()
        elif sid == "ST":
            self._hl_stack = []
            tcn = self._get(fields, 2)
            if tcn in self._st_ids:
                errs.append(
                    ("st", "23", f"Transaction control number {tcn} is used twice in this group", 0, sid)
                )
            self._st_count += 1
            self._st_ids.add(tcn)
            loops.append(("ST", tcn))
            self._seg_count = 1
            self._hl_count = 0
        elif sid == "IEA":
            if loops and loops[-1][0] != "ISA":
                errs.append(
                    ("isa", "024", f"IEA arrives while {loops[-1][0]} {loops[-1][1]} is still open", 0, sid)
                )
                del loops[-1]
            v02 = self._get(fields, 2)
            if loops and loops[-1][1] != v02:
                errs.append(("isa", "001", f"IEA02 {v02} does not match ISA13 {loops[-1][1]}", 0, sid))
            v01 = self._get(fields, 1)
            if _int(v01) != self._gs_count:
                errs.append(
                    (
                        "isa",
                        "021",
                        f"IEA01 says {v01} groups but the interchange has {self._gs_count}",
                        0,
                        sid,
                    )
                )
            if loops:
                del loops[-1]
        elif sid == "GE":
            if loops and loops[-1][0] != "GS":
                errs.append(
                    ("gs", "3", f"GE arrives while {loops[-1][0]} {loops[-1][1]} is still open", 0, sid)
                )
                del loops[-1]
            v02 = self._get(fields, 2)
            if loops and loops[-1][1] != v02:
                errs.append(("gs", "4", f"GE02 {v02} does not match GS06 {loops[-1][1]}", 0, sid))
            v01 = self._get(fields, 1)
            if _int(v01) != self._st_count:
                errs.append(
                    ("gs", "5", f"GE01 says {v01} transactions but the group has {self._st_count}", 0, sid)
                )
            if loops:
                del loops[-1]
        elif sid == "SE":
            v02 = self._get(fields, 2)
            top = loops[-1] if loops else ("", None)
            if top[0] != "ST" or top[1] != v02:
                errs.append(("st", "3", f"SE02 {v02} does not match ST02 {top[1]}", 0, sid))
            v01 = self._get(fields, 1)
            if _int(v01) != self._seg_count + 1:
                errs.append(
                    (
                        "st",
                        "4",
                        f"SE01 says {v01} segments but the transaction has {self._seg_count + 1}",
                        0,
                        sid,
                    )
                )
            if loops:
                del loops[-1]

    def _parse_hl(self, fields: list[str]) -> None:
        self._hl_count += 1
        hl01 = self._get(fields, 1)
        if self._hl_count != _int(hl01):
            self._src_errs.append(("seg", "HL1", f"HL01 is {hl01}, expected {self._hl_count}", None, "HL"))
        hl02 = self._get(fields, 2)
        if hl02 != "":
            parent = _int(hl02)
            if parent not in self._hl_stack:
                self._src_errs.append(("seg", "HL2", f"HL02 parent {hl02} is not an open HL", None, "HL"))
            while self._hl_stack and parent != self._hl_stack[-1]:
                del self._hl_stack[-1]
        self._hl_stack.append(self._hl_count)

    # -- x12n_document helpers --------------------------------------------------------------------
    def _force(self, reset: tuple[Any, list[int]], loop_slot: int, seg_slot: int) -> None:
        self._reset(reset[0], reset[1])
        self._counts[loop_slot] += 1
        self._counts[seg_slot] += 1

    def _reset(self, rng: slice | list[int], zeros: list[int]) -> None:
        counts = self._counts
        if isinstance(rng, slice):
            counts[rng] = zeros
        else:
            for s in rng:
                counts[s] = 0

    def _select_map(self, fields: list[str], line: int) -> _Seg:
        fic, vriic = self._get(fields, 1), self._get(fields, 8)
        new = self._c.map_for(self._icvn, vriic, fic)
        if new != MAP_FILE:
            # pyx12 raises EngineError (no map) or switches to another guide's map; we only know X220A1.
            self.findings.append(
                Finding(
                    line,
                    GROUP,
                    "GS08",
                    "GS",
                    f"Group uses guide {vriic} ({fic}), not 005010X220A1; it was checked as X220A1",
                    "GS08",
                    8,
                )
            )
        return self._c.map_gs

    # -- err_handler emulation --------------------------------------------------------------------
    def _set_cur(self, kind: str) -> None:
        self._kind = kind
        self._seg_added = True

    def _close(self, node: list[Any] | None, kind: str) -> None:
        if node is not None:
            node[2], node[3] = self._line, self._sid
        self._set_cur(kind)

    def _add_seg(self, line: int, sid: str) -> None:
        self._kind = "seg"
        self._seg_added = False
        self._seg_line = line
        self._seg_sid = sid

    def _seg_error(self, code: str, msg: str, line: int | None, sid: str) -> None:
        """err_handler.seg_error: lost unless the current node is a segment node under an ST."""
        if self._kind != "seg":
            return
        if not self._seg_added:
            if self._st is None:
                return
            self._seg_added = True
        if line is None:
            line, sid = self._seg_line, self._seg_sid
        self.findings.append(Finding(line, SEGMENT, code, sid, msg))

    def _env_error(self, kind: str, code: str, msg: str, at_end: bool) -> None:
        node = self._isa if kind == "isa" else self._gs if kind == "gs" else self._st
        if at_end or not self._line:
            if node is None:
                line, sid = 0, ""
            elif node[2]:
                line, sid = node[2], node[3]
            else:
                line, sid = node[0], node[1]
        else:
            line, sid = self._line, self._sid
        self.findings.append(Finding(line, _LEVEL[kind], code, sid, msg))

    def _handle_src_errors(self, at_end: bool = False) -> None:
        if not self._src_errs:
            return
        errs, self._src_errs = self._src_errs, []
        for kind, code, msg, src_line, sid in errs:
            if kind == "seg":
                self._seg_error(code, msg, src_line, sid)
            else:
                self._env_error(kind, code, msg, at_end)

    def _apply_walk_errors(self) -> None:
        if not self._pending:
            return
        line, sid = self._line, self._sid
        for code, has_node, msg in self._pending:
            if has_node:
                self._add_seg(line, sid)
            self._seg_error(code, msg, line, sid)
        self._pending.clear()

    def _apply_segment_errors(self, node: _Seg, fields: list[str], text: str, is_isa: bool) -> None:
        # Results depend on the separators too; two fixed-width characters keep the key unambiguous.
        text_key = text + self._seps
        recs = node.vcache.get(text_key)
        if recs is None:
            recs = _validate(node, fields, self._sub, is_isa)
            if len(node.vcache) >= _CACHE_LIMIT:
                node.vcache.clear()
            node.vcache[text_key] = recs
        if not recs:
            return
        line, sid = self._line, self._sid
        for is_ele, code, e, msg in recs:
            if is_ele:
                assert e is not None
                # err_handler.ele_error never loses an error (pyx12 crashes instead when it cannot
                # attach one, which only happens before the first ST).
                if self._kind == "seg":
                    self._seg_added = True
                self.findings.append(Finding(line, ELEMENT, code, sid, msg, e.refdes, e.ele_pos, e.sub_pos))
            else:
                self._seg_error("8", msg, None, sid)

    # -- map_walker.walk_tree, replayed from a cached program ------------------------------------------
    def _walk(self, orig: _Seg) -> _Seg | None:
        """walk_tree.walk_errors: the node the segment lands on (None: not found); errors -> _pending."""
        sid = self._sid
        key = (orig, sid, self._v1 if sid in self._keyed_ids else None)
        prog = self._programs.get(key)
        if prog is None:
            prog = _Trace(sid, self._fields, self._sub).run(orig)
            if sid not in self._c.uncacheable_ids:
                if len(self._programs) >= _PROGRAM_LIMIT:
                    self._programs.clear()
                self._programs[key] = prog
        kind, target, loop, checks, zero_any = prog
        counts = self._counts
        # The 'mandatory missing' checks read the counters as they were before this segment.
        missed = None
        if checks and 0 in zero_any(counts):
            missed = [msg for slot, msg in checks if counts[slot] < 1]
        pending = self._pending
        if kind == _P_SEG:
            assert target is not None
            counts[target.slot] += 1
            if target.usage == "N":
                pending.append(
                    ("2", False, f"Segment {target.id} is not used in this guide (not allowed here)")
                )
            elif counts[target.slot] > target.max_repeat:
                pending.append(
                    (
                        "5",
                        True,
                        f"Segment {sid} appears {counts[target.slot]} times here; "
                        f"at most {target.max_repeat} allowed",
                    )
                )
        elif kind == _P_ENTER:
            assert target is not None and loop is not None
            if loop.usage == "N":
                pending.append(("2", False, f"Loop {loop.id} ({loop.name}) is not used in this guide"))
            else:
                rng = loop.reset
                if isinstance(rng, slice):
                    counts[rng] = loop.reset_zeros
                else:
                    for s in rng:
                        counts[s] = 0
                counts[loop.slot] += 1
                if counts[loop.slot] > loop.max_repeat:
                    pending.append(
                        (
                            "4",
                            True,
                            f"Loop {loop.id} ({loop.name}) repeats {counts[loop.slot]} times; "
                            f"at most {loop.max_repeat} allowed",
                        )
                    )
            counts[target.slot] += 1
        elif kind == _P_NONE:
            if sid == "HL":
                shown = "*".join(self._fields)
            else:
                v01 = self._get(self._fields, 1)
                shown = f"{sid}*{v01}" if v01 is not None else sid
            pending.append(("1", True, f"Segment {shown} is not allowed here ({orig.loop_label})"))
            return None
        else:
            return None
        if missed:
            for msg in missed:
                pending.append(("3", True, msg))
        return target


_P_SEG: Final = 0
_P_ENTER: Final = 1
_P_NONE: Final = 2
_P_LOST: Final = 3
_PROGRAM_LIMIT: Final = 100000
# (kind, landing segment, loop entered, 'mandatory missing' checks as (counter slot, message))
_Program = tuple[int, "_Seg | None", "_Loop | None", tuple[tuple[int, str], ...], Any]


class _Trace:
    """One run of pyx12's walk_tree search over the compiled map, without touching any counter.

    Which node a segment lands on, and which loops/segments pyx12 looks at on the way, depend only on
    the start node and the segment (its id and qualifier); only the "mandatory missing" decisions
    and the repeat counts depend on counters. So the search result is a program, cached per
    (start node, segment id, qualifier) and replayed against the counters by Walker._walk.
    """

    __slots__ = ("sid", "fields", "sub", "v1", "misses")

    def __init__(self, sid: str, fields: list[str], sub: str) -> None:
        self.sid = sid
        self.fields = fields
        self.sub = sub
        self.v1 = _fmt(fields[1], sub) if len(fields) > 1 else None
        # (counter slot that must be 0, segment node the error is filed against, message)
        self.misses: list[tuple[int, _Seg, str]] = []

    def match(self, node: _Seg) -> bool:
        """segment_if.is_match."""
        if node.id != self.sid:
            return False
        if node.key_idx == 0:
            return True
        if node.key_idx == 1 and node.key_sub is None:
            return self.v1 in node.key_codes
        fields = self.fields
        if node.key_idx >= len(fields):
            return None in node.key_codes
        raw = fields[node.key_idx]
        if node.key_sub is None:
            return _fmt(raw, self.sub) in node.key_codes
        parts = [raw] if self.sid == "ISA" else raw.split(self.sub)
        val = parts[node.key_sub - 1] if node.key_sub - 1 < len(parts) else None
        return val in node.key_codes

    def run(self, orig: _Seg) -> _Program:
        node_pos = orig.pos
        loop = orig.parent
        assert loop is not None
        while True:
            found = self.scan(loop, node_pos)
            if found is not None:
                break
            if loop.kind == _ROOT:
                return (_P_NONE, None, None, (), None)
            node_pos = loop.pos
            assert loop.parent is not None
            loop = loop.parent
        kind, target, entered = found
        if kind == _P_SEG:
            # _try_match_segment_child drops misses "equal" to the match (same id and parent id:
            # REF*1L satisfies a missing REF*0F) and _flush_mandatory_segs keeps those at its position.
            assert target is not None
            checks = tuple(
                (slot, msg)
                for slot, node, msg in self.misses
                if node.eqkey != target.eqkey and node.pos != target.pos
            )
        elif kind == _P_ENTER:
            checks = tuple((slot, msg) for slot, _node, msg in self.misses)
        else:
            checks = ()
        # itemgetter over the slots: one C call tells whether any check can fire (a count is 0).
        slots = [slot for slot, _msg in checks]
        zero_any = itemgetter(*slots, *slots) if slots else None
        return (kind, target, entered, checks, zero_any)

    def scan(self, loop: _Loop, node_pos: int) -> tuple[int, _Seg | None, _Loop | None] | None:
        children = loop.children
        for k in range(bisect_left(loop.poses, node_pos), len(children)):
            child = children[k]
            if isinstance(child, _Seg):
                if self.match(child):
                    if loop.kind == _LOOP and self.is_loop_match(loop):
                        return self.goto(loop)
                    return (_P_SEG, child, None)
                if child.usage == "R":
                    msg = f"Required segment {child.id} ({child.name}) is missing in {child.loop_label}"
                    self.misses.append((child.slot, child, msg))
            elif isinstance(child, _Loop) and self.is_loop_match(child):
                return self.goto(child)
        return None

    def is_loop_match(self, loop: _Loop) -> bool:
        first = loop.first
        if first is None:
            return False
        if isinstance(first, _Loop):
            return any(isinstance(c, _Loop) and self.is_loop_match(c) for c in loop.children)
        assert isinstance(first, _Seg)
        if self.match(first):
            return True
        if loop.usage == "R":
            self.misses.append((loop.slot, first, f"Required loop {loop.id} ({loop.name}) is missing"))
        return False

    def goto(self, loop: _Loop) -> tuple[int, _Seg | None, _Loop | None]:
        found = self._goto(loop)
        # pyx12 ends up with no node and no error if the descent finds nothing (cannot happen
        # with these maps, as is_loop_match only says yes when a first segment matches).
        return found if found is not None else (_P_LOST, None, None)

    def _goto(self, loop: _Loop) -> tuple[int, _Seg | None, _Loop | None] | None:
        first = loop.first_seg
        if first is not None and self.match(first):
            return (_P_ENTER, first, loop)
        for child in loop.children:
            if isinstance(child, _Loop):
                found = self._goto(child)
                if found is not None:
                    return found
        return None


_VALID_IDS: Final[set[str]] = set()
# Valid segment ids with no envelope/HL bookkeeping: Walker.step's fast path.
_PLAIN_IDS: Final[set[str]] = set()


def _int(val: str | None) -> int | None:
    try:
        return int(val)  # type: ignore[arg-type]
    except (ValueError, TypeError):
        return None


def walk_text(data: bytes) -> tuple[dict[int, str], list[Finding]]:
    """Read and walk a whole file: loop path per segment ordinal, and all findings.

    Findings are the reader's (physical file: BOM, padding, empty segments, truncation) followed by
    the walker's. Raises reader.UnreadableFile when the bytes are not an X12 interchange.
    """
    from .reader import read_interchanges

    rr = read_interchanges(data)
    walker = Walker(rr.delims)
    loops: dict[int, str] = {}
    step = walker.step
    for seg in rr.segments():
        loops[seg.ordinal] = step(seg)
    walker.finish()
    return loops, list(rr.findings) + walker.findings
