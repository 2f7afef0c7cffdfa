"""pyx12 4.0.0 as the reference ("oracle") for the walker: loop path per segment and the error tree.

Used only by tests and benchmarks. It never imports PySide6 and never runs in the product's import path.

The driver below is a copy of ``pyx12.x12n_document.x12n_document`` without the 999/HTML/XML outputs, so
that the error handler can be a subclass that remembers *which segment* each error was raised for
(pyx12's tree only keeps the line of the node an error hangs on, and for ISA/GS/ST nodes that line
changes when the trailer arrives). Everything else -- which errors exist, which ones pyx12 loses because
they have no node to hang on (see ``_StampingErrh.seg_error``), the loop ids -- is pyx12's own behaviour.

Finding.ordinal rules (the walker follows the same rules):

* segment errors: the ``src_line`` pyx12 passes along (reader and walker errors carry it), else the
  line of the segment node the error hangs on;
* element errors: the segment being validated;
* ISA/GS/ST errors: the segment being processed when pyx12 raised them; errors raised at end of file
  (missing trailers) use the line of the ISA/GS/ST node they hang on (the trailer's line if it was seen).
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass, field
from typing import Any

import pyx12.error_handler
import pyx12.errors
import pyx12.map_if
import pyx12.map_index
import pyx12.params
import pyx12.segment
import pyx12.x12file
from pyx12.map_if._segment import apply_segment_errors
from pyx12.map_walker import apply_walk_errors, walk_tree

from .types import ELEMENT, GROUP, INTERCHANGE, SEGMENT, TRANSACTION, Delimiters, Finding, Segment

# pyx12 logs every error at ERROR; without a handler Python would print them all to stderr.
logging.getLogger("pyx12").addHandler(logging.NullHandler())

#: Loops that are pyx12 plumbing rather than implementation-guide loops; left out of loop paths.
SKIP_LOOPS = frozenset({"ISA_LOOP", "GS_LOOP", "ST_LOOP", "HEADER", "DETAIL", "LS_LOOP"})


def loop_path(node: Any) -> str:
    """'2000/2100A' style path of a pyx12 map node, wrappers left out."""
    return "/".join(x for x in node.x12path.loop_list if x not in SKIP_LOOPS)


@dataclass
class Pyx12Result:
    """What pyx12 says about one file.

    loops:    segment ordinal -> loop path, for every segment pyx12 read.
    findings: one Finding per error in pyx12's error tree.
    crashed:  None, or why pyx12 could not finish (it raised, or rejected the file outright).
    seg_ids:  segment ordinal -> segment id as pyx12 tokenized it.
    """

    loops: dict[int, str] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    crashed: str | None = None
    seg_ids: dict[int, str] = field(default_factory=dict)


class _StampingErrh(pyx12.error_handler.err_handler):
    """pyx12's error handler, plus a note of the segment ordinal each stored error belongs to.

    ``line`` is set by the driver to the ordinal being processed (None during the end-of-file cleanup).
    ``stamps`` maps id(error tuple) -> ordinal. The tuples themselves are kept in ``_keep``: pyx12 drops
    some error nodes from its tree, and a freed tuple's id can be reused by a later error, which then
    took the dropped one's ordinal (an intermittent difference in the differential tests).
    """

    def __init__(self) -> None:
        super().__init__()
        self.line: int | None = None
        self.stamps: dict[int, int] = {}
        self._keep: list[Any] = []

    @staticmethod
    def _last(node: Any) -> Any:
        errs = getattr(node, "errors", None)
        return errs[-1] if errs else None

    def _stamp_if_new(self, node: Any, before: Any, line: int | None) -> None:
        after = self._last(node)
        if after is not None and after is not before:
            self.stamps[id(after)] = line if line is not None else node.get_cur_line()
            self._keep.append(after)

    def add_ele(self, map_node: Any) -> None:
        super().add_ele(map_node)
        # err_ele keeps positions only; keep the map's reference designator ('INS06-01') as well.
        self.cur_ele_node.refdes = map_node.id

    def seg_error(
        self, err_cde: str, err_str: str, err_value: str | None = None, src_line: int | None = None
    ) -> None:
        # pyx12 swallows the exception raised when the current node is an ISA/GS/ST node (their
        # add_error takes no value) or when there is no ST yet: such errors never reach the tree.
        node = self.cur_seg_node
        before = self._last(node)
        super().seg_error(err_cde, err_str, err_value, src_line)
        self._stamp_if_new(node, before, src_line)

    def ele_error(self, err_cde: str, err_str: str, bad_value: str | None, refdes: str | None = None) -> None:
        node = self.cur_ele_node
        before = self._last(node)
        super().ele_error(err_cde, err_str, bad_value, refdes)
        self._stamp_if_new(node, before, self.line)

    def isa_error(self, err_cde: str, err_str: str) -> None:
        node = self.cur_isa_node
        before = self._last(node)
        super().isa_error(err_cde, err_str)
        self._stamp_if_new(node, before, self.line)

    def gs_error(self, err_cde: str, err_str: str) -> None:
        node = self.cur_gs_node
        before = self._last(node)
        super().gs_error(err_cde, err_str)
        self._stamp_if_new(node, before, self.line)

    def st_error(self, err_cde: str, err_str: str) -> None:
        node = self.cur_st_node
        before = self._last(node)
        super().st_error(err_cde, err_str)
        self._stamp_if_new(node, before, self.line)


def _drive(text: str, errh: _StampingErrh, res: Pyx12Result) -> None:
    """x12n_document's loop (pyx12 4.0.0), outputs removed, loop paths recorded as the callback would."""
    param = pyx12.params.params()
    src = pyx12.x12file.X12Reader(io.StringIO(text, newline=""))
    map_file = "x12.control.00501.xml" if src.icvn == "00501" else "x12.control.00401.xml"
    control_map = pyx12.map_if.load_map_file(map_file, param, None)
    map_index_if = pyx12.map_index.map_index(None)
    node = control_map.getnodebypath("/ISA_LOOP/ISA")
    walker = walk_tree()
    icvn = fic = vriic = None
    cur_map: Any = None
    for seg in src:
        cur_line = src.get_cur_line()
        errh.line = cur_line
        res.seg_ids[cur_line] = seg.get_seg_id() or ""
        orig_node = node
        seg_id = seg.get_seg_id()
        if seg_id == "ISA":
            node = control_map.getnodebypath("/ISA_LOOP/ISA")
            walker.forceWalkCounterToLoopStart("/ISA_LOOP", "/ISA_LOOP/ISA")
        elif seg_id == "GS":
            node = control_map.getnodebypath("/ISA_LOOP/GS_LOOP/GS")
            walker.forceWalkCounterToLoopStart("/ISA_LOOP/GS_LOOP", "/ISA_LOOP/GS_LOOP/GS")
        else:
            (node, _pop, _push, walk_errors) = walker.walk_errors(
                node, seg, src.get_seg_count(), cur_line, src.get_ls_id()
            )
            apply_walk_errors(errh, walk_errors)
        if node is None:
            node = orig_node
        else:
            if seg_id == "ISA":
                errh.add_isa_loop(seg, src)
                icvn = seg.get_value("ISA12")
                errh.handle_errors(src.pop_errors())
            elif seg_id == "IEA":
                errh.handle_errors(src.pop_errors())
                errh.close_isa_loop(node, seg, src)
            elif seg_id == "GS":
                fic = seg.get_value("GS01")
                vriic = seg.get_value("GS08")
                map_file_new = map_index_if.get_filename(icvn, vriic, fic)
                if map_file != map_file_new:
                    if map_file_new is None:
                        raise pyx12.errors.EngineError(
                            f"Map not found.  icvn={icvn}, fic={fic}, vriic={vriic}"
                        )
                    map_file = map_file_new
                    cur_map = pyx12.map_if.load_map_file(map_file, param, None)
                    src.check_837_lx = cur_map.id == "837"
                node = cur_map.getnodebypath("/ISA_LOOP/GS_LOOP/GS")
                errh.add_gs_loop(seg, src)
                errh.handle_errors(src.pop_errors())
            elif seg_id == "GE":
                errh.handle_errors(src.pop_errors())
                errh.close_gs_loop(node, seg, src)
            elif seg_id == "ST":
                errh.add_st_loop(seg, src)
                errh.handle_errors(src.pop_errors())
            elif seg_id == "SE":
                errh.handle_errors(src.pop_errors())
                errh.close_st_loop(node, seg, src)
            else:
                # (x12n_document's BHT branch only matters for 4010 278 maps.)
                errh.add_seg(node, seg, src.get_seg_count(), cur_line, src.get_ls_id())
                errh.handle_errors(src.pop_errors())
            apply_segment_errors(node, seg, errh)
        res.loops[cur_line] = loop_path(node)
    errh.line = None
    src.cleanup()
    errh.handle_errors(src.pop_errors())


def _ele_ref(seg_id: str, ele: Any) -> str:
    ref = getattr(ele, "refdes", None)
    if ref:
        return str(ref)
    if ele.subele_pos:
        return f"{seg_id}{ele.ele_pos:02d}-{ele.subele_pos:02d}"
    return f"{seg_id}{ele.ele_pos:02d}"


def _collect(errh: _StampingErrh, res: Pyx12Result) -> None:
    """Walk pyx12's error tree (ISA -> GS -> ST -> segment -> element) into Finding objects."""
    out = res.findings
    stamps = errh.stamps

    def seg_at(n: int) -> str:
        return res.seg_ids.get(n, "")

    def elements(node: Any, default_line: int) -> None:
        for ele in getattr(node, "elements", []):
            for err in ele.errors:
                n = stamps.get(id(err), default_line)
                out.append(
                    Finding(
                        n,
                        ELEMENT,
                        err[0],
                        seg_at(n),
                        err[1],
                        _ele_ref(seg_at(n), ele),
                        ele.ele_pos,
                        ele.subele_pos,
                    )
                )

    def walk(h: Any, levels: tuple[str, ...]) -> None:
        """One node's own errors and its elements' errors, then its children's (one level down)."""
        level, deeper = levels[0], levels[1:]
        for err in h.errors:
            n = stamps.get(id(err), h.get_cur_line())
            out.append(Finding(n, level, err[0], seg_at(n), err[1]))
        elements(h, h.get_cur_line())
        if deeper:
            for child in h.children:
                walk(child, deeper)

    for isa in errh.children:
        walk(isa, (INTERCHANGE, GROUP, TRANSACTION, SEGMENT))


def run_pyx12(data: bytes) -> Pyx12Result:
    """Validate `data` (an 834 file's bytes) with pyx12 and return its loop paths and findings.

    The bytes are decoded as latin-1 (one character per byte, like the product's reader) and handed
    to pyx12 without newline translation. Any exception pyx12 raises -- X12Error for a bad ISA,
    EngineError for an unknown GS08, IndexError on over-long composites, AttributeError when an error
    has no node to hang on, and so on -- ends the run with ``crashed`` set to a one-line reason.
    """
    res = Pyx12Result()
    errh = _StampingErrh()
    text = data.decode("latin-1")
    try:
        _drive(text, errh, res)
    except pyx12.errors.X12Error as exc:
        res.crashed = f"X12Error: {exc}"
    except pyx12.errors.EngineError as exc:
        res.crashed = f"EngineError: {exc}"
    except Exception as exc:  # noqa: BLE001 - the oracle reports every crash, whatever it is
        res.crashed = f"{type(exc).__name__}: {exc}"
    try:
        _collect(errh, res)
    except Exception as exc:  # noqa: BLE001 - a half-built tree after a crash
        res.crashed = res.crashed or f"{type(exc).__name__} while reading the error tree: {exc}"
    return res


def split_like_pyx12(data: bytes) -> tuple[Delimiters, list[Segment]] | None:
    """The segments exactly as pyx12's RawX12File/X12Reader see them, or None when pyx12 cannot read the ISA.

    Like pyx12: delimiters from fixed ISA positions, split on the terminator, leading CR/LF removed,
    reading stops at the first empty segment, and a trailing fragment without terminator is dropped.
    Tests use it so that walker and oracle see the same segments whatever the product reader does.
    """
    text = data.decode("latin-1")
    isa = text[:106]
    if isa[:3] != "ISA" or len(isa) != 106 or isa[84:89] not in ("00401", "00501"):
        return None
    term = isa[105]
    delims = Delimiters(element=isa[3], component=isa[104], repetition=isa[82], segment=term)
    segs: list[Segment] = []
    pos = 0
    while True:
        cut = text.find(term, pos)
        if cut < 0:
            break
        raw = text[pos:cut]
        line = raw.lstrip("\n\r")
        if line == "":
            break
        segs.append(Segment(len(segs) + 1, pos + len(raw) - len(line), line, line.split(delims.element)))
        pos = cut + 1
    return delims, segs
