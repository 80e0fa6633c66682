"""Check for w03.project: a short race on a 4 KB Shakespeare excerpt writes the table and the plot."""

import re

import torch

from course.data import fixture_path
from roadmap.impl import load
from roadmap.project import load_project

project = load_project("week03_embeddings")
rnn = load("week03_embeddings.rnn")


def test_short_race_writes_table_and_plot(tmp_path):
    # the learner's code first: an untouched week is todo before the project trains three models
    rnn.GRUCell(2, 3)(torch.zeros(1, 2), torch.zeros(1, 3))
    text_file = fixture_path("week03", "shakespeare_head.txt")
    argv = ["--short", "--out", str(tmp_path), "--text-file", str(text_file), "--seconds", "0.2"]
    assert project.main(argv) == 0, "project.main returned non-zero"
    table = (tmp_path / "results.md").read_text()
    for name in ("bigram", "mlp", "gru"):
        assert f"| {name} |" in table, f"results.md lacks the {name} row:\n{table}"
    assert (tmp_path / "val_loss_vs_time.png").read_bytes()[:4] == b"\x89PNG", (
        "the plot is not a PNG"
    )
    metrics = (tmp_path / "metrics.txt").read_text()
    values = [float(v) for v in re.findall(r"(?:bigram|mlp|gru) (\d+\.\d+)", metrics)]
    assert len(values) == 3 and all(0 < v < 10 for v in values), f"metrics.txt: {metrics!r}"
