"""Check for w13.project: the toy PPO run, DPO (ours and trl's) and the reports, end to end on the
tree under test, in --short mode on a 16-record instruction fixture (never the real data set)."""

from course.data import fixture_path
from roadmap.project import load_project

project = load_project("week13_alignment")


def test_project_writes_the_curves_and_the_answers(tmp_path):
    data = fixture_path("week13", "instruction_tiny.json")
    argv = ["--short", "--out", str(tmp_path), "--data-file", str(data)]
    assert project.main(argv) == 0, "project.main returned non-zero"
    for name in ("ppo.md", "ppo.png", "dpo.md", "dpo.png", "answers.md"):
        assert (tmp_path / name).exists(), f"the project did not write {name}"
    ppo = (tmp_path / "ppo.md").read_text(encoding="utf-8")
    assert "| update | reward (kl_coef 0.05) |" in ppo, ppo[:400]
    dpo = (tmp_path / "dpo.md").read_text(encoding="utf-8")
    assert "| step | loss (ours) | margin (ours) | loss (trl) | margin (trl) |" in dpo, dpo[:400]
    assert "| 0 | 0.6931 |" in dpo, f"the first DPO step must start at ln 2:\n{dpo}"
    answers = (tmp_path / "answers.md").read_text(encoding="utf-8")
    assert "- DPO (trl):" in answers, answers[:400]
    assert (tmp_path / "metrics.txt").read_text().startswith("ppo reward "), "metrics.txt missing"
