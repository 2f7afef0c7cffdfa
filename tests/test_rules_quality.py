"""The quality bar on an independent generated exchange-style set (benchmarks/rules_quality.py):
at least 95% of the injected problems flagged in the right category, at most 2% of the clean groups
with an error or warning flag, in every category."""

from __future__ import annotations

import pytest

from benchmarks.rules_quality import run


@pytest.mark.slow
@pytest.mark.parametrize("seed", [7, 19])
def test_recall_and_false_flags(seed):
    res = run(seed)
    assert res["expected"] >= 30 and res["clean_groups"] >= 130
    for cat, v in res["categories"].items():
        assert v["problems"] > 0, cat
        assert v["recall"] >= 0.95, (cat, [m["injection"] for m in res["misses"]])
        assert v["false_rate"] <= 0.02, (cat, [(f["rule"], f["message"]) for f in res["false_flags"]])
