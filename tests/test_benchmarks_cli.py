"""`./dev bench NAME [OPTIONS]` reaches every benchmark: each takes its options from the command line."""

from __future__ import annotations

import inspect
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
NAMES = sorted(p.stem for p in (ROOT / "benchmarks").glob("*.py") if not p.stem.startswith("_"))


@pytest.mark.parametrize("name", NAMES)
def test_every_benchmark_takes_its_options(name: str) -> None:
    import importlib

    mod = importlib.import_module(f"benchmarks.{name}")
    params = list(inspect.signature(mod.main).parameters)
    assert params[:1] == ["argv"], f"{name}.main must accept the options given after its name"


def test_help_and_unknown_name() -> None:
    ok = subprocess.run([sys.executable, "-m", "benchmarks", "list"], cwd=ROOT, capture_output=True, text=True)
    assert ok.returncode == 0 and "ingest_bench" in ok.stdout
    bad = subprocess.run([sys.executable, "-m", "benchmarks", "nosuch"], cwd=ROOT, capture_output=True, text=True)
    assert bad.returncode == 2 and "no benchmark 'nosuch'" in bad.stderr


def test_options_reach_the_benchmark() -> None:
    r = subprocess.run([sys.executable, "-m", "benchmarks", "ingest_bench", "--help"], cwd=ROOT,
                       capture_output=True, text=True)
    assert r.returncode == 0 and "--sizes" in r.stdout


def test_ingest_bench_repeat_prints_each_import_and_the_spread() -> None:
    r = subprocess.run([sys.executable, "-m", "benchmarks", "ingest_bench", "--sizes", "200", "--repeat", "2",
                        "--no-pyx12"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    rows = [ln.split() for ln in r.stdout.splitlines() if ln.split()[:1] == ["200"] and "imports:" not in ln]
    assert len(rows) == 2, r.stdout
    seconds = sorted(float(row[3]) for row in rows)
    for row in rows:   # rows written before the rules; the floor just before / just after, the ratio to it
        assert 0 < float(row[4]) < float(row[3]) and float(row[4]) + float(row[5]) <= float(row[3]) + 0.01
        assert re.fullmatch(r"\d+\.\d{3}/\d+\.\d{3}", row[10]), row
        assert float(row[11]) > 0
    summary = next(ln for ln in r.stdout.splitlines() if "2 imports:" in ln)
    assert f"fastest {seconds[0]:.2f} s" in summary and f"slowest {seconds[1]:.2f} s" in summary
    bad = subprocess.run([sys.executable, "-m", "benchmarks", "ingest_bench", "--repeat", "0"], cwd=ROOT,
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "--repeat must be 1 or more" in bad.stderr
