"""Write screenshots of the review window on the demo data into docs/ (for the README).

Runs offscreen (no display needed): imports resources/demo/* into a temporary store, opens the main
window and grabs it. One run writes the light 100% set, the dark palette and the 150% scale (a
second process, because Qt reads the scale factor at start-up).

    .venv/bin/python scripts/screenshots.py [--out docs]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

SIZE = (1440, 900)


def build_store(work: Path) -> Path:
    from enrollreview.ingest import import_file
    from enrollreview.paths import demo_dir
    from enrollreview.store import open_db
    from enrollreview.ui.worker import expand_paths

    db_file = work / "demo.sqlite"
    if db_file.exists():
        return db_file
    db = open_db(db_file)
    try:
        for p in expand_paths([demo_dir()]):
            r = import_file(db, p, is_demo=True)
            print(" ", r.summary())
    finally:
        db.close()
    return db_file


def pick_flag(db, preferred: tuple[str, ...]) -> tuple[int, int] | None:
    """(member row, flag id) of the first open flag among the preferred rules, else the worst one."""
    for rule in preferred:
        r = db.execute("SELECT member_id, id FROM flags WHERE rule = ? AND member_id IS NOT NULL "
                       "AND resolved_at IS NULL ORDER BY id LIMIT 1", [rule]).fetchone()
        if r:
            return r[0], r[1]
    r = db.execute("SELECT member_id, id FROM flags WHERE member_id IS NOT NULL ORDER BY "
                   "CASE severity WHEN 'error' THEN 0 WHEN 'warning' THEN 1 ELSE 2 END, id LIMIT 1").fetchone()
    return (r[0], r[1]) if r else None


def shoot(out: Path, db_file: Path, suffix: str, dark: bool, full: bool) -> list[Path]:
    from PySide6.QtCore import QSettings

    from enrollreview.store import open_db
    from enrollreview.ui import style
    from enrollreview.ui.app import make_app
    from enrollreview.ui.main_window import MainWindow
    from enrollreview.ui.settings import UiSettings

    app = make_app()
    if dark:
        app.setStyle("Fusion")
        app.setPalette(style.dark_palette())
        style.clear_icon_cache()
    db = open_db(db_file)
    settings = UiSettings(QSettings(str(db_file.parent / f"ui{suffix}.ini"), QSettings.Format.IniFormat))
    w = MainWindow(db, db_file, settings=settings)
    w.resize(*SIZE)
    w.show()
    app.processEvents()
    written: list[Path] = []

    def grab(name: str) -> None:
        for _ in range(3):
            app.processEvents()
        p = out / f"{name}{suffix}.png"
        w.grab().save(str(p))
        written.append(p)

    w.show_queue()
    if full:
        grab("queue")
    picked = pick_flag(db, ("FAM-07", "FIN-03", "FAM-02", "DQ-05"))
    if picked:
        w.open_member(*picked, origin="queue")
        grab("member")
    if full:
        dup = pick_flag(db, ("DUP-03", "DUP-07"))
        if dup:
            w.open_member(*dup, origin="queue")
            w.member_view.tabs.setCurrentIndex(2)
            grab("duplicates")
            w.member_view.tabs.setCurrentIndex(0)
        w.go_back()
        w.show_files()
        grab("files")
        w.show_search()
        w.search.search("Maria Okonkwo")
        grab("search-miss")
    w.close()
    db.close()
    return written


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=str(ROOT / "docs"))
    ap.add_argument("--variant", choices=["all", "light", "dark", "scaled"], default="all",
                    help=argparse.SUPPRESS)
    ap.add_argument("--work", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    work = Path(args.work) if args.work else Path(tempfile.mkdtemp(prefix="enrollreview-shots-"))
    os.environ["ENROLLREVIEW_HOME"] = str(work / "home")
    os.environ["XDG_CONFIG_HOME"] = str(work / "config")
    if args.variant in ("all", "light"):
        print("building the demo store")
    db_file = build_store(work)
    written: list[Path] = []
    if args.variant in ("all", "light"):
        written += shoot(out, db_file, "", dark=False, full=True)
    if args.variant in ("all", "dark"):
        written += shoot(out, db_file, "-dark", dark=True, full=True)
    if args.variant == "all":
        env = dict(os.environ, QT_SCALE_FACTOR="1.5")
        subprocess.run([sys.executable, __file__, "--out", str(out), "--variant", "scaled", "--work", str(work)],
                       check=True, env=env)
    if args.variant == "scaled":
        written += shoot(out, db_file, "-150", dark=False, full=False)
    for p in written:
        print("wrote", p.relative_to(ROOT) if p.is_relative_to(ROOT) else p)
    return 0


if __name__ == "__main__":
    sys.exit(main())
