"""Check for w12.project: the comparison table, plot and samples, end to end on the tree under test.

Runs `--short` on a 24-record fixture (data/fixtures/week12/instruction.json), so it never needs
the dataset.
"""

from course.data import fixture_path
from roadmap.impl import load
from roadmap.project import load_project

project = load_project("week12_peft")
nf4 = load("week12_peft.nf4")


def test_project_writes_the_comparison(tmp_path):
    # the learner's code first: an untouched week is todo before the project loads its models
    nf4.nf4_code_book()
    data = fixture_path("week12", "instruction.json")
    assert project.main(["--short", "--out", str(tmp_path), "--data-file", str(data)]) == 0
    table = (tmp_path / "comparison.md").read_text(encoding="utf-8")
    rows = {
        line.split("|")[1].strip(): line.split("|")
        for line in table.splitlines()
        if line.startswith("| ") and not line.startswith("| method")
    }
    assert set(rows) == {"full", "lora", "qlora"}, f"comparison.md rows: {sorted(rows)}\n{table}"
    pct = {m: float(r[4].strip().rstrip("%")) for m, r in rows.items()}
    assert pct["full"] == 100.0 and 0 < pct["lora"] < 100 and pct["qlora"] == pct["lora"], (
        f"trainable share per method {pct}: full trains everything, LoRA and QLoRA the same "
        "adapter (count_parameters, and the QLoRA base counted as weights)"
    )
    assert (tmp_path / "loss.png").stat().st_size > 1000, "loss.png missing or empty"
    assert "## Prompt 1" in (tmp_path / "samples.md").read_text(encoding="utf-8")
    assert (tmp_path / "metrics.txt").read_text().startswith("lora r=8"), "metrics.txt missing"
