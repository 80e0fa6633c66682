"""Check for w07.project: the family table, the side-by-side generation and the look inside the
short course base (built on first use by the tree under test), in short mode; one run of the
project, read by both checks."""

import pytest

from roadmap.project import load_project

project = load_project("week07_architectures")


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    """(exit code, artifact folder) of `project.main(["--short", "--out", folder])`."""
    out = tmp_path_factory.mktemp("week07")
    return project.main(["--short", "--out", str(out)]), out


def test_project_writes_the_table_and_identical_generations(report):
    code, out = report
    generation = (out / "generation.md").read_text()
    assert code == 0, (
        f"project.main returned {code}: your Llama and transformers generated different tokens:\n{generation}"
    )
    table = (out / "family_table.md").read_text()
    for needle in (
        "| Llama-2-7B | llama | 6,738,415,616",
        "GQA (4 q/kv), sliding window 4096",
        "Qwen2.5-7B",
    ):
        assert needle in table, f"family_table.md lacks {needle!r}:\n{table}"
    assert "**no**" not in generation, f"generation.md shows differing tokens:\n{generation}"
    metrics = (out / "metrics.txt").read_text()
    assert metrics.startswith("family table: 6 configs") and "identical" in metrics, (
        f"metrics.txt: {metrics!r}"
    )
    assert "induction: best" in metrics, f"metrics.txt lacks the induction score: {metrics!r}"


def test_project_looks_inside_the_short_base(report):
    """The short base has 2 blocks of 2 heads: 3 logit-lens rows, a 2 x 2 induction table, and
    losses that are numbers (not nan) for both halves."""
    _, out = report
    lens = (out / "logit_lens.md").read_text(encoding="utf-8")
    assert "runs/base/short-" in lens.replace("\\", "/"), f"logit_lens.md names no base:\n{lens}"
    rows = [line for line in lens.splitlines() if line.startswith(("| embeddings", "| after"))]
    assert len(rows) == 3, f"logit_lens.md: expected 3 layer rows (embeddings + 2 blocks):\n{lens}"
    assert "nan" not in lens, f"logit_lens.md has nan losses:\n{lens}"
    induction = (out / "induction.md").read_text(encoding="utf-8")
    heads = [line for line in induction.splitlines() if line.startswith(("| 0 |", "| 1 |"))]
    assert len(heads) == 2 and all(line.count("|") == 4 for line in heads), (
        f"induction.md: expected one row of 2 head scores per block:\n{induction}"
    )
    assert "| after block 2 |" in induction and "nan" not in induction, (
        f"induction.md: the per-layer losses on the first copy and the repeat are missing or "
        f"nan:\n{induction}"
    )
    assert (out / "attention.png").stat().st_size > 5000, "attention.png is missing or empty"
