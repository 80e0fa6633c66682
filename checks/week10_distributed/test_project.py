"""Check for w10.project: clean + dedup + shard the fixture corpus, then 6 steps on 1 process and
on 2 forked processes with the DDP of the tree under test (--short, a few seconds).

The 2-process loss curve must equal the 1-process one (float32: <= 1e-4 per step).
"""

import re

from roadmap.project import load_project

project = load_project("week10_distributed")


def test_project_short_run_writes_its_reports(tmp_path):
    assert project.main(["--short", "--out", str(tmp_path)]) == 0, "project.main returned non-zero"
    dedup = (tmp_path / "dedup.md").read_text(encoding="utf-8")
    for row in ("exact duplicates removed | 5", "documents out", "| tokenization workers |"):
        assert row in dedup, f"dedup.md lacks {row!r}:\n{dedup}"
    loss = (tmp_path / "loss.md").read_text(encoding="utf-8")
    gap = float(re.search(r"Largest per-step difference: ([0-9.e+-]+);", loss).group(1))
    assert gap <= 1e-4, (
        f"the 2-process DDP loss curve differs from the 1-process one by {gap:.2e} at some step\n"
        "  likely cause: see test_ddp.py (broadcast, disjoint rows, averaged gradients)"
    )
    assert (tmp_path / "loss.png").stat().st_size > 1000, "loss.png is missing or empty"
    scaling = (tmp_path / "scaling.md").read_text(encoding="utf-8")
    assert "| 2 x your DDP |" in scaling, f"scaling.md lacks the DDP row:\n{scaling}"
    assert (tmp_path / "metrics.txt").read_text().startswith("dedup kept "), "metrics.txt line"
