"""Check for w11.project: the whole pipeline end to end on the tree under test, in --short mode.

Runs on a 30-record fixture written for this check (data/fixtures/week11/instructions.json), so it
never needs the dataset; it imports transformers and trl (SFTTrainer runs a few steps).
"""

from course.data import fixture_path
from roadmap.impl import load
from roadmap.project import load_project

project = load_project("week11_sft")
formatting = load("week11_sft.formatting")


def test_project_writes_answers_losses_eval_and_packing(tmp_path):
    # the learner's code first: an untouched week is todo before the project pretrains a model
    formatting.render_chatml([{"role": "user", "content": "Hi"}], add_generation_prompt=True)
    data = fixture_path("week11", "instructions.json")
    assert project.main(["--short", "--out", str(tmp_path), "--data", str(data)]) == 0, (
        "project.main returned non-zero"
    )
    for name in ("answers.md", "eval.md", "packing.md", "losses.png", "config.json", "metrics.txt"):
        assert (tmp_path / name).exists(), f"the project did not write {name}"
    answers = (tmp_path / "answers.md").read_text(encoding="utf-8")
    assert answers.count("- before:") == 3 and answers.count("- after (our loop):") == 3, answers[
        :500
    ]
    table = (tmp_path / "eval.md").read_text(encoding="utf-8")
    for row in ("| base (pretrained, not tuned) |", "| our loop", "| trl SFTTrainer |"):
        assert row in table, f"eval.md lacks the row {row!r}:\n{table}"
    assert "| packed into rows of" in (tmp_path / "packing.md").read_text(encoding="utf-8")
    assert (tmp_path / "metrics.txt").read_text().startswith("sft test loss"), (
        "metrics line missing"
    )
