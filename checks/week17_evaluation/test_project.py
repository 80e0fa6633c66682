"""Check for w17.project: the evaluation report end to end on the tree under test.

Runs `--short --no-lm-eval` (fixtures only: 20 questions, a paragraph of text, a GPT trained for 3
steps), so it needs neither the datasets nor lm-eval's minute; test_lm_eval.py covers lm-eval.
"""

from roadmap.project import load_project

project = load_project("week17_evaluation")


def test_project_writes_the_report_chart_and_model_cards(tmp_path):
    argv = ["--short", "--no-lm-eval", "--out", str(tmp_path), "--train-steps", "3"]
    assert project.main(argv) == 0, "project.main returned non-zero"
    report = (tmp_path / "report.md").read_text(encoding="utf-8")
    for text in ("| model | perplexity |", "## arc-tiny", "| gpt-int8 |", "## Safety battery"):
        assert text in report, f"report.md lacks {text!r}:\n{report[:800]}"
    assert (tmp_path / "scores.png").stat().st_size > 1000, "scores.png missing or empty"
    card = (tmp_path / "card_gpt.md").read_text(encoding="utf-8")
    for section in ("## Training data", "## Evaluation", "## Safety", "## Limitations"):
        assert section in card, f"card_gpt.md lacks {section}:\n{card}"
    assert (tmp_path / "metrics.txt").read_text().startswith("gpt ppl "), "metrics.txt line"
