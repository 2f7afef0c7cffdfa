"""The rules engine: after each import, re-run every rule for the persons and policies the import
touched, using everything in the store, and keep the `flags` table in step.

* Scope: the imported file's member rows plus every stored row that shares a person, an enrollment
  group, a subscriber id or an SSN with them, plus the household of each such row in its transaction;
  files: the imported one and every file of the same sender.
* Rules marked scope='file' depend only on a row's own transaction and on what was received before it,
  so they look at the imported rows only; rules marked scope='store' (an orphan's subscriber arriving,
  a missing enrollment arriving, a second policy) look at every row in scope.
* Flags are keyed by a fingerprint (rule + member row or file + a rule's own key). Re-running
  updates a flag in place and never duplicates it. A flag in scope that a rule no longer raises gets
  `resolved_at` / `resolved_by_file_id` (it is never deleted); if it comes back it is reopened. The
  clerk's status is left alone either way (the review module records both events in its audit).
* After an import, the open MISS-01 flags (roster person with no 834; the reconciliation's flags) that a
  member of the new file answers are resolved too (`reconcile.arrivals`), the same way.
* Everything happens inside the caller's transaction (the import's `db.atomic()` block).
"""

from __future__ import annotations

import importlib
import json
import logging
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

from sqlite_utils import Database

from .. import segpos
from .. import settings as _settings
from ..store import utcnow as _utcnow
from . import history
from .base import ISO_GLOB, REGISTRY, At, Context, Flag, Rule, chunks

log = logging.getLogger("enrollreview.rules")

MODULES = ("duplicate", "maintenance", "family", "subsidy", "data_quality", "missing")

#: seconds spent by the last run, for benchmarks: history, scope, per rule, writing, total
LAST_RUN: dict[str, Any] = {}
SUBSCRIBER_AMOUNTS = ("PRE AMT TOT", "APTC AMT", "TOT RES AMT")


def rules() -> dict[str, Rule]:
    """Every registered rule by id (importing the category modules registers them)."""
    for m in MODULES:
        importlib.import_module(f"{__package__}.{m}")
    return dict(sorted(REGISTRY.items(), key=lambda kv: _rule_order(kv[0])))


def _rule_order(rid: str) -> tuple[int, int]:
    prefix, _, num = rid.partition("-")
    order = {"DUP": 0, "MNT": 1, "FAM": 2, "FIN": 3, "DQ": 4, "MISS": 5}
    return order.get(prefix, 9), int(num) if num.isdigit() else 0


# ------------------------------------------------------------------------------------ prepared tables


def _prep_fset(ctx: Context) -> None:
    """fset: per file in scope, whether companion-guide (exchange) rules apply, the file date and the
    numeric thresholds, as columns rules can join on."""
    ctx.x("DROP TABLE IF EXISTS temp.fset")
    ctx.x("""CREATE TEMP TABLE fset (file_id INTEGER PRIMARY KEY, exchange INTEGER, fin_vocab INTEGER,
             file_date TEXT, age_limit INTEGER, spouse_min INTEGER, max_age INTEGER, tol REAL,
             earliest_year INTEGER, dob_min TEXT)""")
    files = [r[0] for r in ctx.q("SELECT id FROM scope_f UNION SELECT DISTINCT file_id FROM ma")]
    rows = []
    for fid in files:
        f = ctx.q("SELECT isa_sender, isa_receiver, isa_date, (SELECT max(bgn_date) FROM transactions t "
                  "WHERE t.file_id = files.id) AS bgn, r.hios_plans, r.category_names "
                  "FROM files LEFT JOIN rule_runs r ON r.file_id = files.id WHERE files.id = ?", [fid])[0]
        names = ctx.setting(fid, "category_names")
        used = set(json.loads(f["category_names"] or "[]"))
        fin_vocab = any(names.get(n, n) in used for n in SUBSCRIBER_AMOUNTS)
        mode = str(ctx.setting(fid, "exchange_rules")).lower()
        if mode in ("yes", "true", "1"):
            exchange = True
        elif mode in ("no", "false", "0"):
            exchange = False
        else:
            exchange = fin_vocab or "CMSFFM" in ((f["isa_sender"] or "") + (f["isa_receiver"] or "")) \
                or bool(f["hios_plans"])
        isa = f["isa_date"] or ""
        file_date = f"20{isa[:2]}-{isa[2:4]}-{isa[4:6]}" if len(isa) == 6 and isa.isdigit() else (f["bgn"] or None)
        rows.append((fid, int(exchange), int(fin_vocab), file_date, ctx.setting(fid, "dependant_age_limit"),
                     ctx.setting(fid, "spouse_min_age"), ctx.setting(fid, "max_age"),
                     float(ctx.setting(fid, "money_tolerance")), ctx.setting(fid, "earliest_coverage_year")))
    ctx.conn.executemany("INSERT INTO fset VALUES (?,?,?,?,?,?,?,?,?,NULL)", rows)
    ctx.x("UPDATE fset SET dob_min = date(COALESCE(file_date, date('now')), '-' || max_age || ' years')")


def _prep_catname(ctx: Context) -> None:
    """catname: per file in scope, the source's 2750 names mapped to the canonical FFE names."""
    ctx.need("fset")
    ctx.x("DROP TABLE IF EXISTS temp.catname")
    ctx.x("CREATE TEMP TABLE catname (file_id INTEGER, name TEXT, canon TEXT, PRIMARY KEY (file_id, name))")
    rows = []
    for (fid,) in ctx.q("SELECT file_id FROM fset"):
        for canon, name in ctx.setting(fid, "category_names").items():
            rows.append((fid, name, canon))
    ctx.conn.executemany("INSERT OR IGNORE INTO catname VALUES (?,?,?)", rows)


_FIN_CANON = ("('PRE AMT 1', 'PRE AMT TOT', 'APTC AMT', 'TOT RES AMT', 'CSR AMT', 'RATING AREA', 'OTH PAY AMT 1', "
              "'OTH PAY AMT 2', 'TOT EMP RES AMT')")
_MONEY_CANON = ("PRE AMT 1", "PRE AMT TOT", "APTC AMT", "TOT RES AMT", "CSR AMT", "OTH PAY AMT 1", "OTH PAY AMT 2",
                "TOT EMP RES AMT")
_FIN_COLS = {"PRE AMT 1": "pre1", "PRE AMT TOT": "pretot", "APTC AMT": "aptc", "TOT RES AMT": "totres",
             "CSR AMT": "csr", "RATING AREA": "ra"}


def _prep_fin(ctx: Context) -> None:
    """fin: one row per imported member row and financial effective date, with the amounts in force on
    that date (the latest value of each category whose DTP*007 is not after it). Columns: pre1, pretot,
    aptc, totres, csr (numbers), ra (rating area text), oth (sum of the other payers FIN-04 subtracts),
    *_ord (the REF segment ordinal of each value). finp: per member, which categories it carries
    (has_pre1, ...). fincat: the financial categories themselves (m, canon, value, amount, eff, ord, dord)."""
    ctx.need("catname")
    ctx.x("DROP VIEW IF EXISTS temp.fincat")
    cols = ("c.value AS value, c.amount AS amount, COALESCE(NULLIF(c.date_from, ''), '') AS eff, "
            "c.ref_ordinal AS ord, c.dtp_ordinal AS dord, c.seq AS seq")
    if ctx.q("SELECT 1 FROM catname WHERE name != canon LIMIT 1"):
        ctx.x(f"""CREATE TEMP VIEW fincat AS SELECT c.member_id AS m, n.canon AS canon, {cols}
                  FROM categories c JOIN catname n ON n.file_id = c.file_id AND n.name = c.name
                  WHERE {_cat_ranges(ctx)} AND n.canon IN {_FIN_CANON}""")
    else:   # every file uses the FFE names
        ctx.x(f"""CREATE TEMP VIEW fincat AS SELECT c.member_id AS m, c.name AS canon, {cols}
                  FROM categories c WHERE {_cat_ranges(ctx)} AND c.name IN {_FIN_CANON}""")
    subtract: dict[int, set[str]] = {}
    for (fid,) in ctx.q("SELECT file_id FROM fset"):
        subtract[fid] = set(ctx.setting(fid, "responsibility_subtracts"))
    cols = ", ".join(f"{c} {'TEXT' if c == 'ra' else 'REAL'}, {c}_ord INTEGER" for c in _FIN_COLS.values())
    ctx.x("DROP TABLE IF EXISTS temp.fin")
    ctx.x(f"CREATE TEMP TABLE fin (member_row INTEGER, eff TEXT, file_id INTEGER, oth REAL, {cols})")
    ctx.x("DROP TABLE IF EXISTS temp.finp")
    # One pass: the pivot of members with a single effective date, and what every member carries.
    # (aggregate FILTER clauses: a fifth cheaper than max(CASE ...) over 100,000 members, the same values)
    sel = ", ".join(f"max({'value' if c == 'ra' else 'amount'}) FILTER (WHERE canon = '{k}') AS v_{c}, "
                    f"max(ord) FILTER (WHERE canon = '{k}') AS o_{c}" for k, c in _FIN_COLS.items())
    pick = ", ".join(f"p.v_{c}, p.o_{c}" for c in _FIN_COLS.values())
    # has_x: the member carries category x with a REF value (the same aggregate as o_x, computed once)
    has = ", ".join(f"(max(ord) FILTER (WHERE canon = '{k}') IS NOT NULL) AS has_{c}" for k, c in _FIN_COLS.items())
    ctx.x(f"""CREATE TEMP TABLE finp AS SELECT m AS member_row, min(eff) AS e0, max(eff) AS e1, {sel}, {has}
              FROM fincat GROUP BY m""")
    ctx.x(f"""INSERT INTO fin SELECT p.member_row, p.e1, mm.file_id, NULL, {pick}
              FROM finp p JOIN mm ON mm.id = p.member_row WHERE p.e0 = p.e1""")
    multi_ids = [r[0] for r in ctx.q("SELECT member_row FROM finp WHERE e0 != e1")]
    # Other payers, per the sender's setting.
    oth: dict[int, float] = defaultdict(float)
    for r in ctx.q("SELECT f.m, mm.file_id, f.canon, f.amount FROM fincat f JOIN mm ON mm.id = f.m "
                   "WHERE f.canon IN ('OTH PAY AMT 1', 'OTH PAY AMT 2', 'TOT EMP RES AMT')"):
        if r["canon"] in subtract.get(r["file_id"], ()) and r["amount"] is not None:
            oth[r["m"]] += r["amount"]
    if oth:
        ctx.conn.executemany("UPDATE fin SET oth = ? WHERE member_row = ?", [(v, k) for k, v in oth.items()])
    # Members with several effective dates: the amounts in force on each date.
    by_member: dict[int, list[Any]] = defaultdict(list)
    for i in range(0, len(multi_ids), 500):
        part = multi_ids[i:i + 500]
        for r in ctx.q(f"SELECT f.*, mm.file_id FROM fincat f JOIN mm ON mm.id = f.m "
                       f"WHERE f.m IN ({','.join('?' * len(part))}) ORDER BY f.m, f.eff, f.seq", part):
            by_member[r["m"]].append(r)
    out = []
    for m, cats in by_member.items():
        fid = cats[0]["file_id"]
        for eff in sorted({c["eff"] for c in cats if c["eff"]}):
            cur: dict[str, Any] = {}
            other = 0.0
            for c in cats:
                if c["eff"] and c["eff"] > eff:
                    continue
                cur[c["canon"]] = c
            for k in ("OTH PAY AMT 1", "OTH PAY AMT 2", "TOT EMP RES AMT"):
                if k in cur and k in subtract.get(fid, ()) and cur[k]["amount"] is not None:
                    other += cur[k]["amount"]
            row: list[Any] = [m, eff, fid, other or None]
            for k, c in _FIN_COLS.items():
                v = cur.get(k)
                row += [(v["value"] if c == "ra" else v["amount"]) if v else None, v["ord"] if v else None]
            out.append(row)
    if out:
        ctx.conn.executemany(f"INSERT INTO fin VALUES ({','.join('?' * len(out[0]))})", out)
    ctx.x("CREATE INDEX temp.idx_fin_member ON fin(member_row)")
    ctx.x("CREATE UNIQUE INDEX temp.idx_finp_member ON finp(member_row)")


def _cat_ranges(ctx: Context) -> str:
    """SQL condition on categories c: the categories of the imported rows. A file's categories were
    inserted together, so they are one range of row ids per file (read in order, no index probes)."""
    if "cat_ranges" not in ctx.__dict__:
        ranges = []
        for r in ctx.q("SELECT min(id) AS lo, max(id) AS hi FROM mm GROUP BY file_id"):
            first = ctx.q("SELECT id FROM categories WHERE member_id BETWEEN ? AND ? ORDER BY member_id, id LIMIT 1",
                          [r["lo"], r["hi"]])
            last = ctx.q("SELECT id FROM categories WHERE member_id BETWEEN ? AND ? ORDER BY member_id DESC, id DESC "
                         "LIMIT 1", [r["lo"], r["hi"]])
            if first and last:
                a, b = first[0][0], last[0][0]
                ranges.append(f"(c.id BETWEEN {int(a)} AND {int(b)} AND c.member_id BETWEEN {int(r['lo'])} AND "
                              f"{int(r['hi'])})")
        ctx.__dict__["cat_ranges"] = "(" + (" OR ".join(ranges) or "0") + ")"
    return ctx.__dict__["cat_ranges"]


MM_COLUMNS = history.MEMBER_COLUMNS
FACT_COLUMNS = ("head_row", "group_key", "event", "eff_begin", "eff_end")


def _prep_cats(ctx: Context) -> None:
    """cats: the odd 2750 categories of the imported rows: a name outside the known vocabularies, a
    qualifier or value of an FFE name in the wrong form, an amount that is not a number, a date range or a
    date that is not a real date (DQ-05, DQ-08 and FIN-10 read it). Usually a handful of rows."""
    from .. import settings as _settings
    from .data_quality import _EXPECTED_QUAL

    ctx.need("catname")

    def lit(x: str) -> str:
        return "'" + x.replace("'", "''") + "'"

    # one CASE on the name, so each category is tested only against the checks of its own kind
    checks: dict[str, list[str]] = defaultdict(list)
    for canon, name in {(r[0], r[1]) for r in ctx.q("SELECT canon, name FROM catname")}:
        if canon in _EXPECTED_QUAL:
            checks[name].append(f"(c.ref_qual != '' AND c.ref_qual != '{_EXPECTED_QUAL[canon]}')")
        if canon in _MONEY_CANON:
            checks[name].append("(c.value != '' AND (c.amount IS NULL OR length(c.value) > 18))")
        if canon == "SOURCE EXCHANGE ID":
            checks[name].append("c.value NOT GLOB '[A-Z][A-Z]0'")
        elif canon == "REQUEST SUBMIT TIMESTAMP":
            checks[name].append("NOT (length(c.value) IN (14, 16) AND c.value NOT GLOB '*[^0-9]*')")
        elif canon == "APPLICATION ID AND ORIGIN":
            checks[name].append("NOT ((c.value GLOB '*[0-9]-[0-9][0-9]' OR c.value GLOB '*[0-9]-[0-9]') "
                                "AND substr(c.value, 1, instr(c.value, '-') - 1) NOT GLOB '*[^0-9]*')")
        elif canon == "SEP REASON":
            checks[name].append("NOT (c.value GLOB '[A-Z0-9][A-Z0-9]-*' OR c.value GLOB '[A-Z0-9][A-Z0-9] -*')")
        checks.setdefault(name, [])
    known = sorted(set(_settings.KNOWN_CATEGORIES) | set(checks))
    whens = " ".join(f"WHEN {lit(n)} THEN {' OR '.join(c) or '0'}" for n, c in sorted(checks.items()))
    ctx.x("DROP TABLE IF EXISTS temp.cats")
    ctx.x(f"""CREATE TEMP TABLE cats AS
              SELECT c.member_id AS m, c.file_id, c.name, c.ref_qual, c.value, c.amount, c.date_qual, c.date_from,
                     c.date_to, c.ordinal, c.ref_ordinal, c.dtp_ordinal, c.seq
              FROM categories c
              WHERE {_cat_ranges(ctx)}
                AND (CASE c.name {whens} ELSE c.name NOT IN ({', '.join(lit(n) for n in known)}) END
                     OR c.date_qual = 'RD8' OR (c.date_from != '' AND c.date_from NOT GLOB '{ISO_GLOB}'))""")
    ctx.x("CREATE INDEX temp.idx_cats_m ON cats(m)")


def _prep_cv(ctx: Context) -> None:
    """cv: the coverages (2300 loops) of the imported rows, a narrow copy rules can scan on its own."""
    ctx.x("DROP TABLE IF EXISTS temp.cv")
    ctx.x("CREATE TEMP TABLE cv AS SELECT * FROM coverages WHERE 0")
    for r in ctx.q("SELECT min(id) AS lo, max(id) AS hi FROM mm GROUP BY file_id"):
        ctx.x("INSERT INTO cv SELECT * FROM coverages WHERE member_id BETWEEN ? AND ?", [r["lo"], r["hi"]])
    ctx.x("CREATE INDEX temp.idx_cv_member ON cv(member_id)")


def _prep_mm(ctx: Context) -> None:
    """mm: the member rows in scope with the columns rules filter on (members rows are wide: they carry
    the raw segments; scanning this narrow copy is several times faster). Column g is the household in
    its transaction: the transaction and its head subscriber row (or, without one, the REF*0F)."""
    ctx.x("DROP VIEW IF EXISTS temp.mm")
    ctx.x("DROP TABLE IF EXISTS temp.ma")
    cols = ", ".join([f"m.{c}" for c in MM_COLUMNS] + [f"x.{c}" for c in FACT_COLUMNS])
    extra = ("m.transaction_id || ':' || COALESCE(x.head_row, 'S' || COALESCE(m.subscriber_id, '')) AS g, "
             "m.file_id IN (SELECT id FROM scope_rf) AS own")
    if ctx.q("SELECT 1 FROM sqlite_temp_master WHERE name = 'mw'"):
        # the history copied the imported rows' columns already (temp.mw): read the wide rows only for the rest
        ctx.x(f"""CREATE TEMP TABLE ma AS SELECT {cols}, {extra}
                  FROM scope_m s JOIN temp.mw m ON m.id = s.id LEFT JOIN member_facts x ON x.id = m.id""")
        ctx.x(f"""INSERT INTO ma SELECT {cols}, {extra}
                  FROM scope_m s JOIN members m ON m.id = s.id LEFT JOIN member_facts x ON x.id = m.id
                  WHERE s.id NOT IN (SELECT id FROM temp.mw)""")
    else:
        ctx.x(f"""CREATE TEMP TABLE ma AS SELECT {cols}, {extra}
                  FROM scope_m s JOIN members m ON m.id = s.id LEFT JOIN member_facts x ON x.id = m.id""")
    ctx.x("CREATE UNIQUE INDEX temp.idx_ma_id ON ma(id)")
    ctx.x("CREATE INDEX temp.idx_ma_g ON ma(g)")
    ctx.x("CREATE INDEX temp.idx_ma_head ON ma(head_row)")
    ctx.x("CREATE INDEX temp.idx_ma_person ON ma(person_id)")
    ctx.x("CREATE INDEX temp.idx_ma_txn ON ma(transaction_id)")
    if ctx.q("SELECT 1 FROM ma WHERE own = 0 LIMIT 1"):
        ctx.x("CREATE TEMP VIEW mm AS SELECT * FROM ma WHERE own = 1")
    else:
        ctx.x("CREATE TEMP VIEW mm AS SELECT * FROM ma")


PREPARED: dict[str, Callable[[Context], None]] = {
    "fset": _prep_fset, "catname": _prep_catname, "cats": _prep_cats, "fin": _prep_fin, "ma": _prep_mm,
    "cv": _prep_cv,
}

#: rules whose file-level flags look at every file of the sender (the others only at the imported file)
WIDE_FILE_RULES = ("MISS-06",)

_TEMP_TABLES = ("mw", "cv", "scope_m", "scope_f", "scope_rf", "multi_groups", "fset", "catname", "cats", "fin", "finp",
                "ma",
                "_newfp")


# ------------------------------------------------------------------------------------ scope


def _build_scope(ctx: Context, file_ids: list[int] | None) -> None:
    """Fill scope_m / scope_f. file_ids None: the whole store."""
    for t in ("scope_m", "scope_f", "scope_rf"):
        ctx.x(f"DROP TABLE IF EXISTS temp.{t}")
        ctx.x(f"CREATE TEMP TABLE {t} (id INTEGER PRIMARY KEY)")
    if file_ids is None:
        ctx.x("INSERT INTO scope_m SELECT id FROM members")
        ctx.x("INSERT INTO scope_f SELECT id FROM files WHERE status = 'imported'")
        ctx.x("INSERT INTO scope_rf SELECT id FROM scope_f")
        return
    marks = ",".join("?" * len(file_ids))
    ctx.x(f"INSERT INTO scope_m SELECT id FROM members WHERE file_id IN ({marks})", file_ids)
    other = ctx.q(f"SELECT 1 FROM members WHERE file_id NOT IN ({marks}) LIMIT 1", file_ids)
    if other:
        ctx.x("DROP TABLE IF EXISTS temp._keys")
        ctx.x(f"""CREATE TEMP TABLE _keys AS SELECT DISTINCT m.person_id, x.group_key, m.subscriber_id, m.ssn
                  FROM members m LEFT JOIN member_facts x ON x.id = m.id WHERE m.file_id IN ({marks})""", file_ids)
        # (an SSN of one digit repeated is a placeholder shared by strangers: it relates nobody)
        for col, cond, table in (("person_id", "k.person_id IS NOT NULL", "members"),
                                 ("group_key", "k.group_key IS NOT NULL", "member_facts"),
                                 ("subscriber_id", "k.subscriber_id != ''", "members"),
                                 ("ssn", "length(k.ssn) = 9 AND replace(k.ssn, substr(k.ssn, 1, 1), '') != ''",
                                  "members")):
            ctx.x(f"""INSERT OR IGNORE INTO scope_m SELECT m.id FROM (SELECT DISTINCT {col} AS v FROM _keys k
                      WHERE {cond}) k JOIN {table} m ON m.{col} = k.v""")
        ctx.x("DROP TABLE temp._keys")
        # the whole household in its transaction, for every related row from another file
        ctx.x(f"""INSERT OR IGNORE INTO scope_m SELECT f.id FROM member_facts f WHERE f.head_row IN
                  (SELECT DISTINCT x.head_row FROM scope_m s JOIN member_facts x ON x.id = s.id
                   WHERE x.file_id NOT IN ({marks}) AND x.head_row IS NOT NULL)""", file_ids)
    ctx.x(f"INSERT OR IGNORE INTO scope_rf SELECT id FROM files WHERE id IN ({marks})", file_ids)
    ctx.x(f"INSERT OR IGNORE INTO scope_f SELECT id FROM files WHERE id IN ({marks})", file_ids)
    ctx.x(f"""INSERT OR IGNORE INTO scope_f SELECT f.id FROM files f WHERE f.status = 'imported' AND f.isa_sender IN
              (SELECT isa_sender FROM files WHERE id IN ({marks}) AND isa_sender IS NOT NULL)""", file_ids)


# ------------------------------------------------------------------------------------ running


def run_for_file(db: Database, file_id: int, history_rows: list[Any] | None = None) -> int:
    """Re-run the rules for what `file_id` touched; returns the number of open flags on that file.
    `history_rows`: the file's rows for the history, built by the parser (parse.history_row, store ids)."""
    t0 = time.perf_counter()
    prepared = history.prepare(db, {file_id: history_rows} if history_rows is not None else None)
    LAST_RUN.clear()
    LAST_RUN["history"] = time.perf_counter() - t0
    files = sorted(set(prepared) | {file_id})
    _run(db, files, resolved_by=file_id)
    _roster_arrivals(db, file_id)
    marks = ",".join("?" * len(files))
    db.execute(f"UPDATE rule_runs SET ruled_at = ? WHERE file_id IN ({marks})", [_utcnow(), *files])
    return db.execute("SELECT COUNT(*) FROM flags WHERE file_id = ? AND resolved_at IS NULL", [file_id]).fetchone()[0]


def _roster_arrivals(db: Database, file_id: int) -> None:
    """MISS-01 (on the exchange roster, no 834 received) is the reconciliation's flag, not a rule's: the
    ones this file's members answer are resolved here, in the same transaction (reconcile.arrivals)."""
    from ..reconcile.arrivals import resolve_arrived  # the reconciliation sits beside the rules, not below

    t = time.perf_counter()
    LAST_RUN["miss01_resolved"] = len(resolve_arrived(db, file_id))
    LAST_RUN["miss01_arrivals"] = time.perf_counter() - t


def run_all(db: Database) -> dict[str, int]:
    """Re-run every rule on the whole store (after a settings change); returns counts."""
    t0 = time.perf_counter()
    history.prepare(db)
    LAST_RUN.clear()
    LAST_RUN["history"] = time.perf_counter() - t0
    res = _run(db, None, resolved_by=None)
    db.execute("UPDATE rule_runs SET ruled_at = ?", [_utcnow()])
    return res


def _run(db: Database, file_ids: list[int] | None, *, resolved_by: int | None) -> dict[str, int]:
    t0 = time.perf_counter()
    reg = rules()
    ctx = Context(db, file_ids[-1] if file_ids else None, {})
    try:
        t = time.perf_counter()
        _build_scope(ctx, file_ids)
        ctx.x("PRAGMA temp.cache_size = -262144")  # 256 MB for the temporary tables of one run
        ctx.need("ma")
        ctx.need("cv")
        ctx.need("fset")
        LAST_RUN["scope"] = time.perf_counter() - t
        produced: list[tuple[Rule, Flag]] = []
        timings: dict[str, float] = {}
        for r in reg.values():
            t = time.perf_counter()
            for f in r.check(ctx):
                produced.append((r, f))
            timings[r.id] = time.perf_counter() - t
        t = time.perf_counter()
        counts = _write(ctx, reg, produced, resolved_by)
        LAST_RUN["write"] = time.perf_counter() - t
        LAST_RUN["rules"] = timings
    finally:
        db.conn.execute("DROP VIEW IF EXISTS temp.mm")
        db.conn.execute("DROP VIEW IF EXISTS temp.fincat")
        for t in _TEMP_TABLES:
            db.conn.execute(f"DROP TABLE IF EXISTS temp.{t}")
    LAST_RUN["total"] = time.perf_counter() - t0 + LAST_RUN.get("history", 0.0)
    slow = sorted(timings.items(), key=lambda kv: -kv[1])[:5]
    log.info("rules ran in %.2f s: %s; slowest %s", time.perf_counter() - t0, counts,
             ", ".join(f"{k} {v:.2f}s" for k, v in slow))
    return counts


# ------------------------------------------------------------------------------------ writing


class _Texts:
    """Loads the stored raw text of member rows / transactions / envelopes to turn At into ordinals."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.members: dict[int, tuple[list[str], list[Any], str]] = {}
        self.txns: dict[int, tuple[list[str], list[Any], str]] = {}
        self.envs: dict[int, tuple[list[str], list[Any], str]] = {}

    def load_members(self, ids: Iterable[int]) -> None:
        need = sorted({i for i in ids if i is not None and i not in self.members})
        for part in chunks(need, 500):
            for r in self.ctx.q(f"SELECT m.id, m.raw, m.segs, f.delims FROM members m JOIN files f ON f.id = m.file_id "
                                f"WHERE m.id IN ({','.join('?' * len(part))})", list(part)):
                lines = r["raw"].split("\n")
                self.members[r["id"]] = (lines, segpos.decode(r["segs"], lines), (r["delims"] or "*")[0])

    def load_txns(self, ids: Iterable[int]) -> None:
        need = sorted({i for i in ids if i is not None and i not in self.txns})
        for part in chunks(need, 500):
            for r in self.ctx.q(f"SELECT t.id, t.raw, t.segs, f.delims FROM transactions t JOIN files f "
                                f"ON f.id = t.file_id WHERE t.id IN ({','.join('?' * len(part))})", list(part)):
                lines = (r["raw"] or "").split("\n")
                self.txns[r["id"]] = (lines, segpos.decode(r["segs"], lines), (r["delims"] or "*")[0])

    def _txn(self, tid: int) -> tuple[list[str], list[Any], str]:
        if tid not in self.txns:
            self.load_txns([tid])
            self.txns.setdefault(tid, ([], [], "*"))   # (a transaction no longer stored)
        return self.txns[tid]

    def _env(self, fid: int) -> tuple[list[str], list[Any], str]:
        if fid not in self.envs:
            r = self.ctx.q("SELECT envelope, delims FROM files WHERE id = ?", [fid])
            env = json.loads(r[0]["envelope"] or "[]") if r else []
            self.envs[fid] = ([e[1] for e in env], [[e[0], "", e[2]] for e in env],
                              ((r[0]["delims"] if r else None) or "*")[0])
        return self.envs[fid]

    def resolve(self, at: At, member_row: int | None) -> list[dict[str, Any]]:
        if at.env is not None:
            lines, segs, sep = self._env(at.env)
        elif at.txn is not None:
            lines, segs, sep = self._txn(at.txn)
        else:
            row = at.row if at.row is not None else member_row
            if row is None:
                return []
            if row not in self.members:
                self.load_members([row])
            lines, segs, sep = self.members.get(row, ([], [], "*"))
        hits = []
        for i, line in enumerate(lines):
            parts = line.split(sep)
            if parts[0].strip() != at.seg:
                continue
            if at.qual is not None and (len(parts) < 2 or parts[1] != at.qual):
                continue
            if at.loop is not None and i < len(segs) and at.loop not in (segs[i][1] or ""):
                continue
            if i < len(segs):
                hits.append({"ordinal": segs[i][0], "element": at.element})
        if at.nth is None:
            return hits
        try:
            return [hits[at.nth]]
        except IndexError:
            return []


def _write(ctx: Context, reg: dict[str, Rule], produced: list[tuple[Rule, Flag]],
           resolved_by: int | None) -> dict[str, int]:
    db, conn = ctx.db, ctx.conn
    now = _utcnow()
    texts = _Texts(ctx)
    rows_needed = {f.member_row for _, f in produced if f.member_row is not None}
    rows_needed |= {a.row for _, f in produced for a in f.segments if isinstance(a, At) and a.row is not None}
    texts.load_members(rows_needed)
    texts.load_txns(a.txn for _, f in produced for a in f.segments if isinstance(a, At) and a.txn is not None)
    info: dict[int, Any] = {}
    for part in chunks(sorted(i for i in rows_needed if i is not None), 500):
        for r in ctx.q(f"SELECT id, file_id, policy_id, person_id FROM members WHERE id IN "
                       f"({','.join('?' * len(part))})", list(part)):
            info[r["id"]] = r
    sender_cfg: dict[int, tuple[set[str], dict[str, str]]] = {}

    def cfg(fid: int | None) -> tuple[set[str], dict[str, str]]:
        if fid is None:
            return set(), {}
        if fid not in sender_cfg:
            sender_cfg[fid] = (set(ctx.setting(fid, "disabled_rules")), dict(ctx.setting(fid, "severity")))
        return sender_cfg[fid]

    by_fp: dict[str, tuple[Any, ...]] = {}
    for r, f in produced:
        m = info.get(f.member_row) if f.member_row is not None else None
        file_id = f.file_id if f.file_id is not None else (m["file_id"] if m else None)
        f.file_id = file_id
        disabled, sev_over = cfg(file_id)
        if r.id in disabled:
            continue
        fp = f.fingerprint()
        if fp in by_fp:
            continue
        severity = sev_over.get(r.id) or f.severity or r.severity
        segs: list[dict[str, Any]] = []
        for a in f.segments:
            got = texts.resolve(a, f.member_row) if isinstance(a, At) else [a]
            for g in got:
                if g.get("ordinal") and g not in segs:
                    segs.append(g)
        policy = f.policy_id if f.policy_id is not None else (m["policy_id"] if m else None)
        by_fp[fp] = (fp, r.id, r.category, severity, f.member_row, m["person_id"] if m else None, policy or None,
                     file_id, f.message, f.next_step or r.next_step, json.dumps(segs, separators=(",", ":")),
                     json.dumps(sorted(set(int(x) for x in f.related if x is not None and x != f.member_row))))
    ctx.x("DROP TABLE IF EXISTS temp._newfp")
    ctx.x("CREATE TEMP TABLE _newfp (fp TEXT PRIMARY KEY)")
    conn.executemany("INSERT INTO _newfp VALUES (?)", [(fp,) for fp in by_fp])
    reopened = [r[0] for r in conn.execute(
        "SELECT g.id FROM flags g JOIN _newfp n ON n.fp = g.fingerprint WHERE g.resolved_at IS NOT NULL")]
    before = conn.total_changes
    conn.executemany(
        """INSERT INTO flags (fingerprint, rule, category, severity, member_id, person_id, policy_id, file_id,
               message, next_step, segments, related, status, created_at, updated_at)
           VALUES (?,?,?,?,?,?,?,?,?,?,?,?,'new',?,?)
           ON CONFLICT (fingerprint) DO UPDATE SET
               severity = excluded.severity, person_id = excluded.person_id, policy_id = excluded.policy_id,
               message = excluded.message, next_step = excluded.next_step, segments = excluded.segments,
               related = excluded.related, resolved_at = NULL, resolved_by_file_id = NULL,
               updated_at = excluded.updated_at
           WHERE flags.severity IS NOT excluded.severity OR flags.message IS NOT excluded.message
               OR flags.segments IS NOT excluded.segments OR flags.related IS NOT excluded.related
               OR flags.next_step IS NOT excluded.next_step OR flags.person_id IS NOT excluded.person_id
               OR flags.policy_id IS NOT excluded.policy_id OR flags.resolved_at IS NOT NULL""",
        [(*v, now, now) for v in by_fp.values()])
    written = conn.total_changes - before
    # Conditions that went away: flags of these rules on rows / files the rules looked at that no rule raised
    # now. 'file' rules looked at the imported rows, 'store' rules at every row in scope.
    file_rules = [r.id for r in reg.values() if r.scope == "file"]
    store_rules = [r.id for r in reg.values() if r.scope == "store"]
    fm, sm = ",".join("?" * len(file_rules)), ",".join("?" * len(store_rules))
    wide = ",".join(f"'{r}'" for r in WIDE_FILE_RULES)
    gone = [r[0] for r in conn.execute(
        f"""SELECT g.id FROM flags g WHERE g.resolved_at IS NULL
            AND NOT EXISTS (SELECT 1 FROM _newfp n WHERE n.fp = g.fingerprint)
            AND ((g.rule IN ({fm}) AND (g.member_id IN (SELECT id FROM ma WHERE own = 1)
                                         OR (g.member_id IS NULL AND g.file_id IN (SELECT id FROM scope_rf))))
              OR (g.rule IN ({sm}) AND (g.member_id IN (SELECT id FROM scope_m)
                                         OR (g.member_id IS NULL AND (g.file_id IN (SELECT id FROM scope_rf)
                                             OR (g.rule IN ({wide}) AND g.file_id IN (SELECT id FROM scope_f)))))))""",
        [*file_rules, *store_rules])]
    for part in chunks(gone, 500):
        conn.execute(f"UPDATE flags SET resolved_at = ?, resolved_by_file_id = ?, updated_at = ? "
                     f"WHERE id IN ({','.join('?' * len(part))})", [now, resolved_by, now, *part])
    _announce(db, gone, reopened, resolved_by)
    return {"raised": len(by_fp), "written": written, "resolved": len(gone), "reopened": len(reopened)}


def _announce(db: Database, gone: list[int], reopened: list[int], file_id: int | None) -> None:
    """Tell the review module (its audit trail), when it is there and a file caused the change."""
    if file_id is None or not (gone or reopened):
        return
    try:
        from ..review import workflow
    except ImportError:
        return
    if gone and hasattr(workflow, "on_flags_resolved"):
        workflow.on_flags_resolved(db, gone, file_id)
    if reopened and hasattr(workflow, "on_flags_reopened"):
        workflow.on_flags_reopened(db, reopened, file_id)


def effective_settings(db: Database, file_id: int) -> dict[str, Any]:
    return _settings.for_file(db, file_id)
