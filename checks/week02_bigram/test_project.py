"""Check for w02.project: a short run on a 4 KB Shakespeare excerpt writes every artifact."""

import re

import pytest

from course.data import fixture_path
from roadmap.project import load_project

project = load_project("week02_bigram")


@pytest.mark.parametrize("tokenizer", ["char", "word"])
def test_short_run_writes_table_sample_and_curve(tmp_path, tokenizer):
    text_file = fixture_path("week02", "shakespeare_head.txt")
    argv = [
        "--short",
        "--out",
        str(tmp_path),
        "--text-file",
        str(text_file),
        "--tokenizer",
        tokenizer,
    ]
    assert project.main(argv) == 0, "project.main returned non-zero"
    table = (tmp_path / "results.md").read_text()
    for row in ("count 1-gram", "count 2-gram", "neural bigram"):
        assert f"| {row}" in table, f"results.md lacks the '{row}' row:\n{table}"
    sample = (tmp_path / "sample.txt").read_text()
    assert len(sample) > 20, f"sample.txt is too short: {sample!r}"
    assert (tmp_path / "loss_curve.png").read_bytes()[:4] == b"\x89PNG", (
        "loss_curve.png is not a PNG"
    )
    metrics = (tmp_path / "metrics.txt").read_text()
    nll = [float(v) for v in re.findall(r"(?:count|neural) (\d+\.\d+)", metrics)]
    assert len(nll) == 2 and all(0 < v < 10 for v in nll), f"metrics.txt: {metrics!r}"
