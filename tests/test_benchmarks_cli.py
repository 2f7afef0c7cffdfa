"""`./dev bench NAME [OPTIONS]` reaches every benchmark: each takes its options from the command line."""

from __future__ import annotations

import inspect
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
