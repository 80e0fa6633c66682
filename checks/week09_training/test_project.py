"""Check for w09.project: fp32 and bf16 runs, curves, TensorBoard run, metrics table, samples,
the optimizer comparison (optimizers.md, optimizers.png).

Runs `--short` (a 2-layer model on the week's fixture text, 12 steps per run) into tmp_path;
then `--short --scaling`: the scaling ladder (six tiny runs, the fit) into tmp_path/scaling.
"""

import json

import numpy as np

from roadmap.impl import load
from roadmap.project import load_project

project = load_project("week09_training")
schedule = load("week09_training.schedule")
scaling = load("week09_training.scaling")


def test_project_writes_curves_metrics_and_samples(tmp_path):
    # the learner's code first: an untouched week is todo before the project trains a tokenizer
    schedule.lr_at(0, 1.0, 0.1, 1, 10)
    assert project.main(["--short", "--out", str(tmp_path), "--threads", "1"]) == 0
    assert (tmp_path / "curves.png").read_bytes()[:4] == b"\x89PNG", "curves.png missing"
    assert any((tmp_path / "tb").iterdir()), "the TensorBoard run tb/ is empty"
    metrics = (tmp_path / "metrics.md").read_text(encoding="utf-8")
    assert "| fp32 |" in metrics and "| bf16 |" in metrics, f"metrics.md lacks a row:\n{metrics}"
    samples = (tmp_path / "samples.md").read_text(encoding="utf-8")
    assert "## fp32" in samples and "## bf16" in samples, samples[:300]
    table = (tmp_path / "optimizers.md").read_text(encoding="utf-8")
    for name in ("SGD", "SGD+momentum", "Nesterov", "AdamW"):
        assert f"| {name} |" in table, f"optimizers.md lacks the {name} row:\n{table}"
    assert (tmp_path / "optimizers.png").read_bytes()[:4] == b"\x89PNG", "optimizers.png missing"
    assert (tmp_path / "metrics.txt").read_text().startswith("pretrain val "), "metrics.txt"


def test_scaling_ladder_writes_plot_report_and_fit(tmp_path):
    # the learner's code first: an untouched exercise is todo before the ladder trains
    scaling.compute_optimal(scaling.CHINCHILLA, 1e20)
    scaling.chinchilla_objective(np.zeros(5), np.ones(1), np.ones(1), np.ones(1))
    assert project.main(["--short", "--scaling", "--out", str(tmp_path), "--threads", "1"]) == 0
    folder = tmp_path / "scaling"
    assert (folder / "ladder.png").read_bytes()[:4] == b"\x89PNG", "scaling/ladder.png missing"
    report = (folder / "scaling.md").read_text(encoding="utf-8")
    for row in ("| this ladder |", "| Chinchilla", "| Kaplan"):
        assert row in report, f"scaling.md lacks the row {row!r}:\n{report[:800]}"
    fit = json.loads((folder / "points.json").read_text())
    assert len(fit["points"]) == 6, f"points.json has {len(fit['points'])} runs, the ladder 6"
    assert set(fit["fit"]) == {"E", "A", "B", "alpha", "beta"}, f"points.json fit: {fit['fit']}"
