"""Group 834 segments into transactions and members and parse the values clerks and rules need.

The builder is streaming: `add()` one segment at a time (with the loop path the walker found for
it) and it calls back with each finished member and transaction, so a 100,000-member file never
sits in memory whole. Parsing is segment-driven (INS opens a member, NM1*IL opens 2100A, HD opens
2300, LS...LE wraps 2700/2750), so a member with a misplaced segment is still read: the walker
reports the misplacement, and the data is not lost.
"""

from __future__ import annotations

import datetime as _dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

from .types import Delimiters, Segment

# 2100 loops by NM101 (TR3 X220A1).
NM1_LOOPS: Final = {
    "IL": "2100A", "74": "2100A", "70": "2100B", "31": "2100C", "36": "2100D", "M8": "2100E",
    "S3": "2100F", "45": "2100H",
}
LOOP_PATHS: Final = {"2000": "2000", "2700": "2000/2700", "2750": "2000/2700/2750", "2310": "2000/2300/2310",
                     "2320": "2000/2300/2320", "2330": "2000/2300/2320/2330"}
RESPONSIBLE: Final = {"E1", "EI", "EXS", "GB", "GD", "J6", "LR", "QD", "S1", "TZ", "X4"}
REF_2000: Final = {"0F": "subscriber_id", "17": "member_id", "23": "issuer_member_id", "ZZ": "issuer_subscriber_id",
                   "6O": "payment_tx_id", "1L": "group_policy_id", "3H": "case_number"}
DTP_2000: Final = {"356": "elig_begin", "357": "elig_end", "303": "maint_eff"}
DTP_2300: Final = {"348": "begin", "349": "end", "303": "maint_eff", "543": "paid_through"}
REF_2300: Final = {"CE": "plan_id", "1L": "policy_id", "X9": "issuer_policy_id"}
PHONE_QUALS: Final = frozenset({"TE", "HP", "CP", "WP", "BN"})
_PAD: Final = [""] * 18  # so parsers can index up to element 17 without bounds checks
_BOUNDARY: Final = frozenset({"ISA", "GS", "GE", "IEA", "ST", "SE", "INS"})
MONEY_RE: Final = re.compile(r"^-?\d+(\.\d+)?$|^-?\.\d+$")
_CTRL: Final = str.maketrans({"\n": "\u240a", "\r": "\u240d"})


_ISO_CACHE: Final[dict[str, str]] = {}  # the same few dates repeat throughout a file


def iso_date(value: str) -> str:
    """CCYYMMDD -> YYYY-MM-DD when it is a real date, else the value unchanged ('' stays '')."""
    r = _ISO_CACHE.get(value)
    if r is None:
        r = value
        if len(value) == 8 and value.isdigit():
            try:
                r = _dt.date(int(value[:4]), int(value[4:6]), int(value[6:])).isoformat()
            except ValueError:
                pass
        if len(_ISO_CACHE) >= 8192:
            _ISO_CACHE.clear()
        _ISO_CACHE[value] = r
    return r


def money(value: str) -> float | None:
    v = value.strip()
    return float(v) if v and MONEY_RE.match(v) else None


@dataclass
class MemberRecord:
    """One loop 2000 with everything parsed from it; plain data, written by the store."""

    seq: int
    fields: dict[str, Any] = field(default_factory=dict)
    coverages: list[dict[str, Any]] = field(default_factory=list)
    categories: list[dict[str, Any]] = field(default_factory=list)
    lines: list[str] = field(default_factory=list)
    segs: list[tuple[int, str, int]] = field(default_factory=list)  # (ordinal, loop_path, file_offset)

    @property
    def first_ordinal(self) -> int:
        return self.segs[0][0]

    @property
    def last_ordinal(self) -> int:
        return self.segs[-1][0]


@dataclass
class TransactionRecord:
    seq: int
    fields: dict[str, Any] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)
    segs: list[tuple[int, str, int]] = field(default_factory=list)
    member_count: int = 0
    first_ordinal: int = 0
    last_ordinal: int = 0


class MemberBuilder:
    """Streams segments into TransactionRecord / MemberRecord callbacks."""

    def __init__(
        self,
        delims: Delimiters,
        on_member: Callable[[MemberRecord, TransactionRecord], None],
        on_transaction: Callable[[TransactionRecord], None],
    ) -> None:
        self.d = delims
        self._comp = delims.component
        self.on_member = on_member
        self.on_transaction = on_transaction
        self.envelope: dict[str, Any] = {}
        self.envelope_lines: list[list[Any]] = []  # [ordinal, text, offset] of ISA/GS/GE/IEA
        self.groups: list[dict[str, str]] = []
        self.txn: TransactionRecord | None = None
        self.member: MemberRecord | None = None
        self.member_seq = 0
        self.txn_seq = 0
        self._isa_control = ""
        self._gs: dict[str, str] = {}
        # per-member parse state
        self._loop = ""
        self._cov: dict[str, Any] | None = None
        self._cat: dict[str, Any] | None = None
        self._in_ls = False

    # -- driving -------------------------------------------------------------------------------
    def add(self, seg: Segment, loop_path: str) -> None:
        f = seg.fields
        sid = f[0]
        if sid[:1] in " \r\n\t":
            sid = sid.strip()
        m = self.member
        if m is not None and sid not in _BOUNDARY:  # the hot path: a segment inside a member
            text = seg.text
            m.lines.append(text.translate(_CTRL) if "\n" in text or "\r" in text else text)
            m.segs.append((seg.ordinal, loop_path, seg.offset))
            self._member_segment(m, sid, f + _PAD)
            if not loop_path:  # no walker path (a segment it could not place): our own reading
                m.segs[-1] = (seg.ordinal, LOOP_PATHS.get(self._loop, "2000/" + self._loop), seg.offset)
            return
        if sid in ("ISA", "GS", "GE", "IEA"):
            self._close_member()
            if sid == "GE" or sid == "IEA":
                self._close_txn()
            self.envelope_lines.append([seg.ordinal, seg.text.translate(_CTRL), seg.offset])
            if sid == "ISA":
                self._isa_control = _g(f, 13)
                if not self.envelope:
                    self.envelope = {
                        "isa_sender_qual": _g(f, 5), "isa_sender": _g(f, 6).strip(),
                        "isa_receiver_qual": _g(f, 7), "isa_receiver": _g(f, 8).strip(),
                        "isa_date": _g(f, 9), "isa_time": _g(f, 10), "isa_version": _g(f, 12),
                        "isa_control": _g(f, 13), "usage": _g(f, 15),
                    }
            elif sid == "GS":
                self._gs = {"gs_functional": _g(f, 1), "gs_sender": _g(f, 2), "gs_receiver": _g(f, 3),
                            "gs_date": _g(f, 4), "gs_control": _g(f, 6), "gs_version": _g(f, 8)}
                self.groups.append(dict(self._gs))
            return
        if sid == "ST":
            self._close_member()
            self._close_txn()
            self.txn_seq += 1
            t = TransactionRecord(self.txn_seq, first_ordinal=seg.ordinal)
            t.fields = {"st_id": _g(f, 1), "st_control": _g(f, 2), "st_version": _g(f, 3),
                        "isa_control": self._isa_control, **{k: self._gs.get(k, "") for k in
                                                             ("gs_control", "gs_version", "gs_functional")}}
            self.txn = t
            self._txn_line(seg, loop_path)
            return
        if self.txn is None:
            return  # stray segment outside ST/SE: the walker reports it
        if sid == "SE":
            self._close_member()
            self._txn_line(seg, loop_path)
            self.txn.fields["se_count"] = _g(f, 1)
            self.txn.fields["se_control"] = _g(f, 2)
            self._close_txn()
            return
        if sid == "INS":
            self._close_member()
            self.member_seq += 1
            self.txn.member_count += 1
            self.member = MemberRecord(self.member_seq)
            self._loop, self._cov, self._cat, self._in_ls = "2000", None, None, False
        if self.member is None:
            self._txn_line(seg, loop_path)
            self._header(sid, f)
            return
        m = self.member
        text = seg.text
        m.lines.append(text.translate(_CTRL) if "\n" in text or "\r" in text else text)
        m.segs.append((seg.ordinal, loop_path, seg.offset))
        self._member_segment(m, sid, f + _PAD)
        if not loop_path:  # no walker path (e.g. a segment it could not place): our own reading
            m.segs[-1] = (seg.ordinal, LOOP_PATHS.get(self._loop, "2000/" + self._loop), seg.offset)

    def finish(self) -> None:
        self._close_member()
        self._close_txn()

    # -- helpers -------------------------------------------------------------------------------
    def _txn_line(self, seg: Segment, loop_path: str) -> None:
        assert self.txn is not None
        self.txn.lines.append(seg.text.translate(_CTRL))
        self.txn.segs.append((seg.ordinal, loop_path, seg.offset))
        self.txn.last_ordinal = seg.ordinal

    def _close_member(self) -> None:
        if self.member is not None and self.txn is not None:
            self.txn.last_ordinal = max(self.txn.last_ordinal, self.member.last_ordinal)
            self._finish_member(self.member)
            self.on_member(self.member, self.txn)
        self.member = None

    def _close_txn(self) -> None:
        if self.txn is not None:
            self.on_transaction(self.txn)
        self.txn = None

    def _header(self, sid: str, f: list[str]) -> None:
        t = self.txn.fields  # type: ignore[union-attr]
        if sid == "BGN":
            t.update(bgn_purpose=_g(f, 1), bgn_ref=_g(f, 2), bgn_date=iso_date(_g(f, 3)),
                     bgn_time=_g(f, 4), bgn_action=_g(f, 8))
        elif sid == "QTY":
            q = _g(f, 1)
            if q in ("TO", "DT", "ET"):
                t["qty_" + q.lower()] = _g(f, 2)
        elif sid == "N1":
            role = {"P5": "sponsor", "IN": "payer", "BO": "broker", "TV": "tpa"}.get(_g(f, 1))
            if role:
                t[role + "_name"] = _g(f, 2)
                t[role + "_id"] = _g(f, 4)
        elif sid == "REF" and _g(f, 1) == "38":
            t["master_policy"] = _g(f, 2)
        elif sid == "DTP" and _g(f, 1) == "007":
            t["file_effective"] = iso_date(_g(f, 3))

    def _member_segment(self, m: MemberRecord, sid: str, f: list[str]) -> None:
        mf = m.fields
        if sid == "INS":
            # (item assignments, not update(key=...): compiled, these are direct dict stores)
            mf["ins01"], mf["ins02"], mf["ins03"], mf["ins04"] = f[1], f[2], f[3], f[4]
            mf["ins05"], mf["ins08"], mf["ins17"] = f[5], f[8], f[17]
            return
        if sid == "LS":
            self._in_ls, self._loop = True, "2000"
            return
        if sid == "LE":
            self._in_ls, self._cat, self._loop = False, None, "2000"
            return
        if sid == "LX":
            self._loop = "2700" if self._in_ls else "2310"
            self._cat = None
            return
        if sid == "N1" and self._in_ls:
            self._loop = "2750"
            self._cat = {"seq": len(m.categories) + 1, "name": f[2].strip(), "ref_qual": "",
                         "value": "", "amount": None, "date_qual": "", "date_from": "", "date_to": "",
                         "ordinal": m.segs[-1][0]}
            m.categories.append(self._cat)
            return
        if sid == "HD":
            self._loop = "2300"
            self._cov = {"seq": len(m.coverages) + 1, "hd01": f[1], "hd03": f[3], "hd04": f[4],
                         "hd05": f[5], "begin": "", "end": "", "maint_eff": "", "paid_through": "",
                         "plan_id": "", "csr_variant": "", "policy_id": "", "issuer_policy_id": "",
                         "ordinal": m.segs[-1][0]}
            m.coverages.append(self._cov)
            return
        if sid == "COB":
            self._loop = "2320"
            return
        if sid == "DSB":
            self._loop = "2200"
            return
        if sid == "NM1":
            q = f[1]
            if self._loop in ("2320", "2330"):
                self._loop = "2330"
                return
            if self._loop == "2310":
                return
            loop = NM1_LOOPS.get(q) or ("2100G" if q in RESPONSIBLE else "2100?")
            self._loop = loop
            if loop == "2100A":
                mf["last_name"], mf["first_name"], mf["middle_name"] = f[3], f[4], f[5]
                mf["prefix"], mf["suffix"], mf["id_qual"] = f[6], f[7], f[8]
                if f[8] == "34":
                    mf["ssn"] = f[9]
                else:
                    mf["other_id"] = f[9]
            elif loop == "2100B":
                old: dict[str, Any] = mf.setdefault("old", {})
                old["last_name"], old["first_name"], old["middle_name"] = f[3], f[4], f[5]
                old["ssn"] = f[9] if f[8] == "34" else ""
            elif loop == "2100C":
                mf.setdefault("mailing", {})
            else:
                mf.setdefault("other_names", []).append(
                    {"loop": loop, "qual": q, "name": " ".join(x for x in (f[4], f[3]) if x)})
            return
        loop = self._loop
        if loop == "2000":
            if sid == "REF":
                q, v = f[1], f[2]
                key = REF_2000.get(q)
                if key and key not in mf:
                    mf[key] = v
                refs: dict[str, str] = mf.setdefault("refs", {})
                refs.setdefault(q, v)
            elif sid == "DTP":
                q, v = f[1], iso_date(f[3])
                key = DTP_2000.get(q)
                if key and key not in mf:
                    mf[key] = v
                dates: dict[str, str] = mf.setdefault("dates", {})
                dates.setdefault(q, v)
        elif loop == "2100A":
            if sid == "PER":
                phones: dict[str, list[str]] = mf.setdefault("phones", {})
                for i in (3, 5, 7):
                    q, v = f[i], f[i + 1]
                    if q and v:
                        phones.setdefault(q, []).append(v)
                        if q == "EM" and "email" not in mf:
                            mf["email"] = v
                        elif q in PHONE_QUALS and "phone" not in mf:
                            mf["phone"] = v
            elif sid == "N3":
                mf["address1"], mf["address2"] = f[1], f[2]
            elif sid == "N4":
                mf["city"], mf["state"], mf["zip"] = f[1], f[2], f[3]
                if f[5] == "CY":
                    mf["county"] = f[6]
            elif sid == "DMG":
                mf["dob"], mf["gender"], mf["marital"] = iso_date(f[2]), f[3], f[4]
                race = f[5]
                if race:
                    mf["race"] = race.replace(self._comp, " ")
                mf["has_dmg"] = 1
            elif sid == "HLH":
                mf["tobacco"] = f[1]
            elif sid == "LUI":
                mf["language"] = f[2] or f[3]
        elif loop == "2100B" and sid == "DMG":
            old2: dict[str, Any] = mf.setdefault("old", {})
            old2["dob"], old2["gender"] = iso_date(f[2]), f[3]
        elif loop == "2100C":
            mail: dict[str, Any] = mf.setdefault("mailing", {})
            if sid == "N3":
                mail["address1"], mail["address2"] = f[1], f[2]
            elif sid == "N4":
                mail["city"], mail["state"], mail["zip"] = f[1], f[2], f[3]
        elif loop == "2300" and self._cov is not None:
            cov = self._cov
            if sid == "DTP":
                key = DTP_2300.get(f[1])
                if key and not cov[key]:
                    cov[key] = iso_date(f[3])
            elif sid == "REF":
                q, v = f[1], f[2]
                key = REF_2300.get(q)
                if key and not cov[key]:
                    cov[key] = v
                    if key == "plan_id" and len(v) == 16:
                        cov["csr_variant"] = v[14:]
        elif loop == "2750" and self._cat is not None:
            cat = self._cat
            if sid == "REF" and not cat["ref_qual"]:
                cat["ref_qual"], cat["value"] = f[1], f[2]
                cat["amount"] = money(cat["value"]) if cat["ref_qual"] in ("9X", "9V") else None
                cat["ref_ordinal"] = m.segs[-1][0]
            elif sid == "DTP" and not cat["date_qual"]:
                cat["date_qual"], raw = f[2], f[3]
                if cat["date_qual"] == "RD8" and "-" in raw:
                    a, b = raw.split("-", 1)
                    cat["date_from"], cat["date_to"] = iso_date(a), iso_date(b)
                else:
                    cat["date_from"] = iso_date(raw)
                cat["dtp_ordinal"] = m.segs[-1][0]

    def _finish_member(self, m: MemberRecord) -> None:
        mf = m.fields
        for cat in m.categories:
            if cat["name"] == "ADDL MAINT REASON" and "amrc" not in mf:
                mf["amrc"] = cat["value"]
        pol = next((c["policy_id"] for c in m.coverages if c["policy_id"]), "") or mf.get("group_policy_id", "")
        mf["policy_id"] = pol


def _g(fields: list[str], i: int) -> str:
    return fields[i] if i < len(fields) else ""
