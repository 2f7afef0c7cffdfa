"""`python -m benchmarks [NAME ...]`: run the named benchmarks (default: ingest)."""

from __future__ import annotations

import importlib
import pkgutil
import sys
from pathlib import Path


def main(argv: list[str]) -> int:
    here = Path(__file__).parent
    available = sorted(m.name for m in pkgutil.iter_modules([str(here)]) if not m.name.startswith("_"))
    if argv and argv[0] in ("-h", "--help", "list"):
        print("benchmarks:", ", ".join(available))
        return 0
    names = argv or ["ingest_bench"]
    for name in names:
        if name not in available:
            print(f"no benchmark {name!r}; available: {', '.join(available)}", file=sys.stderr)
            return 2
        mod = importlib.import_module(f"benchmarks.{name}")
        mod.main([])
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
