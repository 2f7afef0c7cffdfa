"""The call-back list as PDF (Qt's QPdfWriter): page count and text read back with a minimal PDF reader."""

from __future__ import annotations

import os
import stat
import subprocess
import sys

from enrollreview.export import export
from enrollreview.review import workflow as wf
from enrollreview.review.audit import list_rows
from tests.test_export_support import SSNS, pdf_pages
from tests.test_review_support import P, import_text, make_834, member_row, raise_flag


def _flat(pages):
    """All pages as one line; text runs in another font (bold names) are separate runs, so rejoin ' ,'."""
    return " ".join(" ".join(p.split()) for p in pages).replace(" ,", ",")


def test_callbacks_pdf_text(db, scene, tmp_path):
    out = tmp_path / "cb.pdf"
    r = export(db, "callbacks", "pdf", out)
    assert r.rows == 2
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    pages = pdf_pages(out)
    assert len(pages) == 1
    text = _flat(pages)
    assert text.startswith("Call-back list")
    for piece in ("Rows: 2", "SSNs: masked", "Filters: no filters",
                  "QUINTERO, ROBERTO", "SSN ***-**-4321", "(804) 555-0102", "member M0002",
                  "policy POL1001", "plan 12345VA001000101", "Spouse is younger than 14", "Needs call-back",
                  "assigned to joe", "2025-02-01", "3 days open",
                  "QUINTERO, ALICE", "SSN ***-**-6789", "cell (804) 555-0109", "alice.q@example.com",
                  "Date of birth 2080-02-14 is in the future", "Subscriber aged 45 has a dependant coded as a parent",
                  "assigned to maria", "2025-03-01", "10 days open"):
        assert piece in text, piece
    assert text.index("ROBERTO") < text.index("ALICE")  # sorted by due date
    for ssn in SSNS:
        assert ssn not in text and f"{ssn[:3]}-{ssn[3:5]}-{ssn[5:]}" not in text
    assert "OSTERHAGEN" not in text  # waiting on the exchange, not a call
    assert list_rows(db, action="export")[0]["detail"]["format"] == "pdf"


def test_pdf_shows_ssn_only_when_asked(db, scene, tmp_path):
    out = tmp_path / "cb.pdf"
    export(db, "callbacks", "pdf", out, show_ssn=True)
    text = _flat(pdf_pages(out))
    assert "SSN 123-45-6789" in text and "SSN 987-65-4321" in text
    assert "SSNs: shown in full" in text
    assert list_rows(db, action="reveal_ssn")[0]["detail"]["where"] == "callbacks export"


def test_long_list_paginates_with_page_numbers(db, tmp_path):
    people = [P(f"FIRST{i:03d}", f"LAST{i:03d}", f"{700000000 + i}", "19800101", f"L{i:04d}", f"L{i:04d}",
                policy=f"POL{i:04d}") for i in range(120)]
    import_text(db, tmp_path, make_834(people, control=5), "many.834")
    ids = [raise_flag(db, member_row(db, p.member_id), message=f"Problem number {i}") for i, p in
           enumerate(people)]
    wf.bulk(db, ids, status="needs-call-back")
    for i, fid in enumerate(ids):
        db.execute("UPDATE flags SET due_date = ? WHERE id = ?", [f"2025-{1 + i // 28:02d}-{1 + i % 28:02d}", fid])
    db.conn.commit()
    out = tmp_path / "many.pdf"
    export(db, "callbacks", "pdf", out)
    pages = pdf_pages(out)
    assert len(pages) >= 4
    for n, page in enumerate(pages, start=1):
        assert page.split()[-1] == str(n)  # QTextDocument prints the page number at the bottom
    text = _flat(pages)
    positions = [text.index(f"LAST{i:03d}") for i in range(120)]
    assert positions == sorted(positions)
    assert "Problem number 119" in text
    assert all(f"{700000000 + i}" not in text for i in range(120))


def test_empty_pdf_says_so(db, tmp_path):
    out = tmp_path / "none.pdf"
    export(db, "callbacks", "pdf", out)
    text = _flat(pdf_pages(out))
    assert "Nothing to list with these filters." in text


def test_pdf_from_the_cli_without_a_display(db, db_path, scene, tmp_path):
    """The command line makes the PDF with no display and no Qt loaded before."""
    env = {**os.environ, "QT_QPA_PLATFORM": ""}
    env.pop("DISPLAY", None)
    env.pop("WAYLAND_DISPLAY", None)
    out = tmp_path / "cli.pdf"
    db.close()
    r = subprocess.run([sys.executable, "-m", "enrollreview", "export", "callbacks", "--db", str(db_path),
                        "--out", str(out)], capture_output=True, text=True, env=env, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "2 rows written" in r.stdout
    assert len(pdf_pages(out)) == 1
