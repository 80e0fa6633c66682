"""Check for w17.project: the evaluation report end to end on the tree under test.

Runs `--short --no-lm-eval` (fixtures only: 20 questions, a paragraph of text; the short course
base, built on first use by the tree under test, and its int8 copy), so it needs neither the
datasets nor lm-eval's minute; test_lm_eval.py covers lm-eval. `--model` gets the base's run
directory a second time, as a learner passes their week-11 run: it loads through load_run.
"""

from course.base import resolve_base
from roadmap.impl import load
from roadmap.project import load_project

project = load_project("week17_evaluation")
report_mod = load("week17_evaluation.report")


def test_project_writes_the_report_chart_and_model_cards(tmp_path):
    # the learner's code first: an untouched week is todo before the base is built or loaded
    report_mod.bootstrap_ci([0.0, 1.0, 1.0], n_resamples=10, seed=0)
    run = tmp_path / "my-run"
    run.symlink_to(resolve_base(None, short=True), target_is_directory=True)
    argv = ["--short", "--no-lm-eval", "--out", str(tmp_path / "out"), "--model", str(run)]
    assert project.main(argv) == 0, "project.main returned non-zero"
    out = tmp_path / "out"
    report = (out / "report.md").read_text(encoding="utf-8")
    for text in (
        "| model | perplexity |",
        "## arc-tiny",
        "| gpt-int8 |",
        "## Safety battery",
        "## Bias probe (30 course templates, He vs She)",
    ):
        assert text in report, f"report.md lacks {text!r}:\n{report[:800]}"
    rows = {
        line.split("|")[1].strip(): line for line in report.splitlines() if line.count("|") == 5
    }
    assert "my-run" in rows and "gpt" in rows, f"report.md lacks the --model run's row:\n{report}"
    assert rows["my-run"].split("|")[2:] == rows["gpt"].split("|")[2:], (
        "the --model run (the base's own directory) has another perplexity than the base:\n"
        f"{rows['gpt']}\n{rows['my-run']}\n"
        "  likely cause: --model read the run with another model or tokenizer"
    )
    assert (out / "scores.png").stat().st_size > 1000, "scores.png missing or empty"
    card = (out / "card_gpt.md").read_text(encoding="utf-8")
    for section in ("## Training data", "## Evaluation", "## Safety", "## Limitations"):
        assert section in card, f"card_gpt.md lacks {section}:\n{card}"
    assert "| bias gap He - She (nats) |" in card, (
        f"card_gpt.md lacks the bias probe's row:\n{card}"
    )
    assert (out / "metrics.txt").read_text().startswith("gpt ppl "), "metrics.txt line"
