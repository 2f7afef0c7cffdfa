"""Data-quality rules DQ-01 .. DQ-10 (DQ-01/02/04 come from the TR3 findings recorded at import)."""

from __future__ import annotations

import re
from datetime import date

import pytest

from enrollreview.x12 import generator as gen

from .helpers import BEGIN, child, sub, summary


def test_clean_exchange_file_has_no_data_quality_flags(store):
    store.load([store.group(roles=("spouse", "child")), store.group(roles=())])
    assert store.flags(category="data_quality") == []


def test_dq01_blank_before_the_isa_is_a_file_level_warning(store):
    store.load(store.group(roles=()), edit=lambda t: "\r\n  " + t)
    f = store.flags("DQ-01")
    assert len(f) == 1 and f[0]["member_row"] is None and f[0]["severity"] == "warning"


def test_dq01_isa_not_fixed_length_is_an_error(store):
    def unpad(t: str) -> str:
        isa, rest = t.split("~", 1)
        return re.sub(r" {2,}", " ", isa) + "~" + rest

    store.load(store.group(roles=()), edit=unpad)
    f = store.flags("DQ-01")
    assert f and all(x["member_row"] is None for x in f) and any(x["severity"] == "error" for x in f)


def test_dq02_segment_count_wrong(store):
    store.load(store.group(roles=()), edit=lambda t: re.sub(r"SE\*(\d+)\*", lambda m: f"SE*{int(m[1]) + 3}*", t))
    f = store.flags("DQ-02")
    assert len(f) == 1 and "SE01" in f[0]["message"]


def test_dq03_not_a_benefit_enrollment_group(store):
    store.load(store.group(roles=()), edit=lambda t: t.replace("GS*BE*", "GS*HC*"))
    f = store.flags("DQ-03")
    assert len(f) == 1 and "GS01" in f[0]["message"]


def test_dq04_invalid_code_lands_on_its_member(store):
    g = store.group(roles=("child",))
    c = child(g)
    store.load(g, edit=lambda t: re.sub(r"(INS\*N\*\d\d\*021\*EC\*)A", r"\1Q", t, count=1))
    f = store.flags("DQ-04")
    assert [x["member_id"] for x in f] == [c.member_id]
    assert any(s["element"] == "INS05" for s in f[0]["segments"])


def test_dq05_birth_date_in_the_future(store):
    g = store.group(roles=("child",))
    c = child(g)
    c.dob = date(BEGIN.year + 3, 7, 14)
    store.load(g)
    f = store.flags("DQ-05")
    assert [x["member_id"] for x in f] == [c.member_id] and "future" in f[0]["message"]


def test_dq05_end_before_begin(store):
    g = store.group(roles=("child",))
    c = child(g)
    c.end = date(2026, 3, 20)
    store.load(g)
    f = store.flags("DQ-05")
    assert {x["member_id"] for x in f} == {c.member_id}
    assert any("before it begins" in x["message"] for x in f)


def test_dq05_cancellation_ending_the_day_before_is_quiet(store):
    g = store.group(roles=())
    store.load(g)
    c = gen.cancel(g, submitted=store.next_time())
    store.load(c, edit=lambda t: t.replace(f"DTP*357*D8*{BEGIN:%Y%m%d}", "DTP*357*D8*20260331"))
    assert store.flags("DQ-05") == []


@pytest.mark.parametrize("what", ["ssn", "phone", "zip", "plan"])
def test_dq06_identifier_formats(store, what):
    g = store.group(roles=())
    s = sub(g)
    if what == "ssn":
        s.ssn = "111111111"
    elif what == "phone":
        s.phone = "5555555555"
    elif what == "zip":
        g.address.zip = "1234"
    else:
        g.coverage.plan_id = g.coverage.plan_id[:10] + g.coverage.plan_id[11:]
    store.load(g)
    f = store.flags("DQ-06")
    assert [x["member_id"] for x in f] == [s.member_id], summary(store.flags())
    assert f[0]["severity"] == "error"


def test_dq06_placeholder_ssn_in_an_employer_file_is_only_a_warning(store):
    g = store.group(roles=(), reporting="none")
    sub(g).ssn = "999999999"
    store.load(g, employer_style=True, sender="ACMEHR")
    f = store.flags("DQ-06")
    assert len(f) == 1 and f[0]["severity"] == "warning"


def test_dq07_member_count_wrong(store):
    g = store.group(roles=("spouse",))
    g.qty_override = (3, 1)
    store.load(g)
    f = store.flags("DQ-07")
    assert len(f) == 1 and "QTY*TO says 3" in f[0]["message"] and f[0]["policy_id"] == g.policy_id


def test_dq08_unknown_category(store):
    g = store.group(roles=())
    sub(g).extra_categories.append(gen.Category("PREMIUM DISCOUNT AMT", "9X", "0.00", BEGIN))
    store.load(g)
    f = store.flags("DQ-08")
    assert len(f) == 1 and "PREMIUM DISCOUNT AMT" in f[0]["message"] and f[0]["severity"] == "warning"


def test_dq08_malformed_timestamp_is_an_error(store):
    g = store.group(roles=())
    sub(g).category_values["REQUEST SUBMIT TIMESTAMP"] = "2026-03-01"
    store.load(g)
    f = store.flags("DQ-08")
    assert len(f) == 1 and f[0]["severity"] == "error"


def test_dq08_extra_names_per_sender(store):
    from enrollreview import settings

    settings.set_value(store.db, "extra_category_names", ["PREMIUM DISCOUNT AMT"], sender="CMSFFM")
    g = store.group(roles=())
    sub(g).extra_categories.append(gen.Category("PREMIUM DISCOUNT AMT", "9X", "0.00", BEGIN))
    store.load(g)
    assert store.flags("DQ-08") == []


def test_dq09_race_code_not_in_the_list(store):
    g = store.group(roles=())
    sub(g).race = "9999-9"
    store.load(g)
    f = store.flags("DQ-09")
    assert len(f) == 1 and "9999-9" in f[0]["message"]


def test_dq09_quiet_for_listed_code(store):
    g = store.group(roles=())
    sub(g).race = "2106-3"
    store.load(g)
    assert store.flags("DQ-09") == []


def test_dq10_subscriber_without_employment_status(store):
    g = store.group(roles=())
    store.load(g, edit=lambda t: t.replace("*A***AC", "*A"))
    f = store.flags("DQ-10")
    assert len(f) == 1 and "INS08" in f[0]["message"]


def test_dq10_quiet_for_employer_files(store):
    g = store.group(roles=(), reporting="none")
    store.load(g, employer_style=True, sender="ACMEHR", edit=lambda t: t.replace("REF*17*", "REF*23*"))
    assert store.flags("DQ-10") == []
