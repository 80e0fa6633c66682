"""Check for w14.project: the quantisation table, the plot and the distillation table, end to end
on the tree under test.

Runs `--short` on a 2.5 KB text fixture (90/10 split) with 10 training steps, so it never needs the
dataset; the GGUF rows come from llama.cpp when installed, else from read_gguf.
"""

import torch

from course.data import fixture_path
from roadmap.impl import load
from roadmap.project import load_project

project = load_project("week14_quantization")
quantize = load("week14_quantization.quantize")


def test_project_writes_the_table_the_plot_and_the_gguf_files(tmp_path):
    # the learner's code first: an untouched week is todo before the project trains its model
    quantize.absmax_quantize(torch.ones(2, 3))
    text = fixture_path("week14", "tiny_wiki.txt")
    argv = ["--short", "--out", str(tmp_path), "--text-file", str(text)]
    assert project.main(argv) == 0, "project.main returned non-zero"
    table = (tmp_path / "quantization.md").read_text(encoding="utf-8")
    for row in (
        "| fp32 |",
        "| int8 (ours",
        "| int8 (torch",
        "| 4-bit (ours",
        "NF4",
        "GGUF Q8_0",
        "GGUF Q4_0",
    ):
        assert row in table, f"quantization.md lacks the row {row!r}:\n{table[:800]}"
    assert (tmp_path / "size_vs_ppl.png").stat().st_size > 1000, (
        "size_vs_ppl.png is missing or empty"
    )
    for q in ("F32", "Q8_0", "Q4_0"):
        assert (tmp_path / "gguf" / f"week14_{q}.gguf").exists(), f"gguf/week14_{q}.gguf missing"
    assert "| distilled" in (tmp_path / "distillation.md").read_text(), (
        "distillation.md lacks its row"
    )
    assert (tmp_path / "metrics.txt").read_text().startswith("int8 "), (
        "metrics.txt missing its line"
    )
