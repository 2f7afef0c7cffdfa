"""`python -m benchmarks [NAME ...] [OPTIONS]`: run the named benchmarks (default: ingest).

Options after the names go to each benchmark (`python -m benchmarks ingest_bench --sizes 100000`).
"""

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
    names = []
    while argv and argv[0] in available:
        names.append(argv.pop(0))
    if not names and argv and not argv[0].startswith("-"):
        print(f"no benchmark {argv[0]!r}; available: {', '.join(available)}", file=sys.stderr)
        return 2
    for name in names or ["ingest_bench"]:
        mod = importlib.import_module(f"benchmarks.{name}")
        rc = mod.main(list(argv))
        if rc:
            return int(rc)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
