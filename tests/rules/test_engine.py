"""The engine: re-runs never duplicate, later files resolve and reopen flags, history across files, the
settings, the registry and the CLI contract (flags / rules / rerun / settings)."""

from __future__ import annotations

import json
from decimal import Decimal

from enrollreview import settings
from enrollreview.cli import main as cli
from enrollreview.rules import CATEGORIES
from enrollreview.rules.engine import rules, run_all, run_for_file
from enrollreview.rules.history import person_timeline
from enrollreview.x12 import generator as gen

from .helpers import BEGIN, Store, child, deepcopy, month_start, sub

REQUIRED_IDS = (["DUP-01", "DUP-02", "DUP-03", "DUP-04", "DUP-05", "DUP-07"]
                + [f"MNT-{n:02d}" for n in (1, 2, 3, 4, 5, 7, 10, 12, 13)]
                + [f"FAM-{n:02d}" for n in (1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12)]
                + [f"FIN-{n:02d}" for n in range(1, 10)]
                + [f"DQ-{n:02d}" for n in range(1, 11)] + ["MISS-04", "MISS-06"])


def _bad_group(store: Store) -> gen.Group:
    g = store.group(roles=("child",))
    sub(g).relationship = "19"            # FAM-02
    g.aptc = g.total_premium() + Decimal("10.00")   # FIN-03
    return g


def test_registry_has_every_required_rule():
    reg = rules()
    assert set(REQUIRED_IDS) <= set(reg)
    for r in reg.values():
        assert r.category in CATEGORIES and r.severity in ("error", "warning", "info")
        assert r.title and r.description and r.next_step
        assert r.category == gen.category_of(r.id)


def test_rerunning_never_duplicates(store):
    res = store.load(_bad_group(store))
    before = [(f["id"], f["rule"], f["message"]) for f in store.flags()]
    assert {"FAM-02", "FIN-03"} <= {f[1] for f in before}
    for _ in range(2):
        with store.db.atomic():
            run_for_file(store.db, res.file_id)
        with store.db.atomic():
            run_all(store.db)
    after = [(f["id"], f["rule"], f["message"]) for f in store.flags()]
    assert after == before
    assert store.db.execute("SELECT count(*) FROM flags").fetchone()[0] == len(before)


def test_importing_the_same_file_again_is_refused_and_adds_nothing(store):
    text = store.text([_bad_group(store)])
    store.load_text(text, "a.834")
    n = store.db.execute("SELECT count(*) FROM flags").fetchone()[0]
    p = store.tmp / "a.834"
    from enrollreview.ingest import import_file

    assert import_file(store.db, p).status == "duplicate"
    assert store.db.execute("SELECT count(*) FROM flags").fetchone()[0] == n


def test_clerk_status_survives_rerun_and_resolution(store):
    g = store.group(roles=())
    store.load(gen.change(g, effective=month_start(BEGIN, 1), submitted=store.next_time()))
    (flag,) = store.flags("MISS-04")
    store.db.execute("UPDATE flags SET status = 'in-review' WHERE id = ?", [flag["id"]])
    with store.db.atomic():
        run_all(store.db)
    assert store.flags("MISS-04")[0]["status"] == "in-review"
    store.load(g)    # the missing enrollment arrives
    (gone,) = store.flags("MISS-04", include_resolved=True)
    assert gone["id"] == flag["id"] and gone["status"] == "in-review" and gone["resolved_at"]


def test_resolution_is_recorded_in_the_audit_trail(store):
    g = store.group(roles=())
    store.load(gen.change(g, effective=month_start(BEGIN, 1), submitted=store.next_time()))
    res = store.load(g)
    rows = store.db.execute("SELECT action, flag_id FROM audit WHERE action = 'resolved_by_file'").fetchall()
    assert len(rows) == 1
    detail = json.loads(store.db.execute("SELECT detail FROM audit WHERE action = 'resolved_by_file'").fetchone()[0])
    assert detail["file_id"] == res.file_id


def test_a_flag_that_comes_back_is_reopened(store):
    g = store.group(roles=("child",))
    dep_only = deepcopy(g)
    dep_only.members = [deepcopy(child(g))]
    store.load(dep_only)
    (orphan,) = store.flags("FAM-05")
    settings.set_value(store.db, "disabled_rules", ["FAM-05"])
    with store.db.atomic():
        run_all(store.db)
    assert store.flags("FAM-05") == []
    settings.clear_value(store.db, "disabled_rules")
    with store.db.atomic():
        run_all(store.db)
    (back,) = store.flags("FAM-05")
    assert back["id"] == orphan["id"] and back["resolved_at"] is None


def test_severity_override_per_sender(store):
    settings.set_value(store.db, "severity", {"FAM-05": "error"}, sender="CMSFFM")
    g = store.group(roles=("child",))
    g.members = [child(g)]
    store.load(g)
    assert store.flags("FAM-05")[0]["severity"] == "error"


def test_persons_across_files(store):
    g = store.group(roles=("spouse",))
    store.load(g)
    store.load(gen.change(g, effective=month_start(BEGIN, 1), submitted=store.next_time()))
    s = sub(g)
    pids = {r[0] for r in store.db.execute("SELECT person_id FROM members WHERE member_id = ?", [s.member_id])}
    assert len(pids) == 1
    timeline = person_timeline(store.db, pids.pop())
    assert [e["event"] for e in timeline] == ["enrolled", "changed"]


def test_person_matched_by_ssn_and_by_name_without_member_id(store):
    g = store.group(roles=())
    s = sub(g)
    s.ssn = "212345678"
    store.load(g)
    emp = deepcopy(g)
    emp.reporting = "none"
    store.load(emp, employer_style=True, sender="ACMEHR",
               edit=lambda t: t.replace(f"REF*17*{s.member_id}~", "").replace(f"REF*0F*{s.member_id}", "REF*0F*E77"))
    pids = {r[0] for r in store.db.execute("SELECT person_id FROM members WHERE ssn = '212345678'")}
    assert len(pids) == 1


def test_person_first_seen_without_member_id_learns_it_later_in_the_same_file(store):
    """The enrollment comes without REF*17, a change later in the same file carries it: one person, who
    now has the member id (as a person on record from an earlier file would)."""
    g = store.group(roles=())
    s = sub(g)
    change = gen.change(g, effective=month_start(BEGIN, 1), submitted=store.next_time())
    store.load([g, change], edit=lambda t: t.replace(f"REF*17*{s.member_id}~", "", 1))
    rows = store.db.execute("SELECT member_id, person_id FROM members WHERE subscriber_id = ? ORDER BY id",
                            [g.subscriber_id]).fetchall()
    assert [r[0] for r in rows] == [None, s.member_id]
    assert rows[0][1] == rows[1][1]
    person = store.db.execute("SELECT member_id FROM persons WHERE id = ?", [rows[0][1]]).fetchone()
    assert person == (s.member_id,)


def test_flags_json_contract(store, tmp_path, capsys):
    store.load(_bad_group(store))
    db = str(store.tmp / "rules.sqlite")
    store.db.conn.commit()
    assert cli(["flags", "--db", db, "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert rows
    keys = {"id", "rule", "category", "severity", "member_id", "subscriber_id", "policy_id", "last_name",
            "first_name", "file", "message", "segments", "status", "next_step", "member_row"}
    for r in rows:
        assert keys <= set(r)
        assert all({"ordinal", "element"} <= set(s) for s in r["segments"])
    fam = [r for r in rows if r["rule"] == "FAM-02"][0]
    assert fam["member_id"] and fam["subscriber_id"] and fam["policy_id"] and fam["last_name"]
    assert cli(["flags", "--db", db, "--format", "json", "--category", "family", "--severity", "error"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert {r["rule"] for r in rows} == {"FAM-02"}
    assert cli(["flags", "--db", db, "--format", "csv", "--file", "file001.834"]) == 0
    assert capsys.readouterr().out.startswith("id,rule,category,severity")
    assert cli(["flags", "--db", db, "--category", "nonsense"]) == 2


def test_rules_command_lists_every_rule(capsys, tmp_path):
    assert cli(["rules", "--db", str(tmp_path / "x.sqlite"), "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert set(REQUIRED_IDS) <= {r["id"] for r in rows}
    assert all({"id", "category", "severity", "description"} <= set(r) for r in rows)


def test_settings_and_rerun_commands(store, capsys):
    g = store.group(roles=(), sub_age=(50, 60))
    c = store.f.person(on=BEGIN, age=(27, 27), last=sub(g).last, relationship="19")
    g.members.append(c)
    store.load(g)
    assert len(store.flags("FAM-08")) == 1
    db = str(store.tmp / "rules.sqlite")
    store.db.conn.commit()
    assert cli(["settings", "--db", db, "dependant_age_limit", "28", "--sender", "CMSFFM"]) == 0
    assert cli(["rerun", "--db", db]) == 0
    out = capsys.readouterr().out
    assert "1 resolved" in out
    assert store.flags("FAM-08") == []
    assert cli(["settings", "--db", db, "dependant_age_limit", "many"]) == 2


def test_placeholder_identities_do_not_explode(store):
    """Many people sharing a name + birth date (or a placeholder SSN) relate nobody: the work and the
    flags stay bounded instead of growing with the square of the file."""
    groups = []
    for _ in range(150):
        g = store.group(roles=())
        s = sub(g)
        s.first, s.last, s.ssn = "TEST", "PERSON", "999999999"
        s.dob = BEGIN.replace(year=1980)
        groups.append(g)
    res = store.load(groups)
    assert res.rule_seconds < 30
    assert len(store.flags("DUP-07")) <= 10
    assert store.db.execute("SELECT count(*) FROM person_links").fetchone()[0] <= 10
