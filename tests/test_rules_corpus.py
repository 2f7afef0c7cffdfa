"""The business flags of ../shared/corpus/EXPECTED.md, each file alone on an empty store."""

from __future__ import annotations

import pytest

from enrollreview.ingest import import_file
from enrollreview.rules.query import list_flags
from enrollreview.store import open_db

from .conftest import CORPUS

NO_ERRORS = [
    "lfh-x12__add-subscriber-coverage.834",
    "lfh-x12__demo-file__demo.834",
    "lfh-x12__enroll-employee-multiple-products.834",
    "pyx12__testdata__834_lui_id_5010.txt",
    "pyx12__tests__834_deident_new_enroll.txt",
]
NOT_ON_RECORD = {   # dependant-only, change, cancel or reinstatement for somebody not on record: a warning at most
    "lfh-x12__add-dependent.834": "family",
    "lfh-x12__cancel-dependent.834": None,
    "lfh-x12__change-subscriber-information.834": None,
    "lfh-x12__reinstate-employee-coverage-level.834": None,
    "lfh-x12__reinstate-employee.834": None,
    "lfh-x12__reinstate-member-eligiblity-ins.834": None,
}
STUPIDEDI = sorted(p.name for p in CORPUS.glob("stupidedi__X220A1__*.edi")) if CORPUS.is_dir() else []


def _flags(tmp_path, name):
    if not (CORPUS / name).exists():
        pytest.fail(f"corpus file {name} is missing")
    db = open_db(tmp_path / "c.sqlite")
    res = import_file(db, CORPUS / name)
    assert res.ok, res.summary()
    out = list_flags(db)
    db.close()
    return out


def _errors(flags):
    return [(f["rule"], f["message"]) for f in flags if f["severity"] == "error"]


def test_subscriber_coded_as_child(tmp_path):
    flags = _flags(tmp_path, "lfh-x12__terminate-subscriber-eligibility.834")
    fam = [f for f in flags if f["rule"] == "FAM-02"]
    assert len(fam) == 1 and fam[0]["severity"] == "error" and fam[0]["category"] == "family"
    assert fam[0]["segments"] and fam[0]["segments"][0]["ordinal"] > 0


def test_same_member_sent_four_times(tmp_path):
    flags = _flags(tmp_path, "pyx12__examples__multiple_st_loops.txt")
    dup = [f for f in flags if f["category"] == "duplicate"]
    assert len(dup) == 3 and {f["rule"] for f in dup} == {"DUP-01"}
    assert all(f["subscriber_id"] == "00389999" for f in dup)


def test_dependants_with_their_own_ids(tmp_path):
    flags = _flags(tmp_path, "pyx12__tests__834_deident_family.txt")
    fam3 = [f for f in flags if f["rule"] == "FAM-03"]
    assert len(fam3) == 2 and {f["first_name"] for f in fam3} == {"MARY", "MICHAEL"}


def test_two_unrelated_subscribers_in_one_transaction(tmp_path):
    flags = _flags(tmp_path, "pyx12__tests__834_deident_term.txt")
    assert [f for f in flags if f["category"] == "family" and f["severity"] == "error"] == []


@pytest.mark.parametrize("name", NO_ERRORS)
def test_no_error_flags(tmp_path, name):
    assert _errors(_flags(tmp_path, name)) == []


@pytest.mark.parametrize("name", sorted(NOT_ON_RECORD))
def test_not_on_record_is_a_warning_at_most(tmp_path, name):
    flags = _flags(tmp_path, name)
    assert _errors(flags) == []
    warn = [f for f in flags if f["severity"] == "warning"]
    assert warn, "the clerk must be told the member is not on record"
    if NOT_ON_RECORD[name]:
        assert NOT_ON_RECORD[name] in {f["category"] for f in warn}
    else:
        assert {f["category"] for f in warn} & {"maintenance", "missing"}


@pytest.mark.parametrize("name", STUPIDEDI)
def test_guide_examples_have_no_errors(tmp_path, name):
    assert _errors(_flags(tmp_path, name)) == []


def test_audit_file_has_no_maintenance_errors(tmp_path):
    flags = _flags(tmp_path, "x12-types__parse_834_3.txt")
    assert [f for f in flags if f["category"] == "maintenance" and f["severity"] == "error"] == []


def test_whole_corpus_in_one_store_does_not_crash(tmp_path):
    db = open_db(tmp_path / "all.sqlite")
    for p in sorted(CORPUS.iterdir()):
        if p.suffix in (".997", ".md"):
            continue
        res = import_file(db, p)
        assert res.status in ("imported", "rejected", "duplicate"), res.summary()
    flags = list_flags(db, include_resolved=True)
    assert len({f["id"] for f in flags}) == len(flags)
    db.close()
