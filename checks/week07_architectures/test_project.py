"""Check for w07.project: the family table and the side-by-side generation, in short mode."""

from roadmap.project import load_project

project = load_project("week07_architectures")


def test_project_writes_the_table_and_identical_generations(tmp_path):
    code = project.main(["--short", "--out", str(tmp_path)])
    generation = (tmp_path / "generation.md").read_text()
    assert code == 0, (
        f"project.main returned {code}: your Llama and transformers generated different tokens:\n{generation}"
    )
    table = (tmp_path / "family_table.md").read_text()
    for needle in (
        "| Llama-2-7B | llama | 6,738,415,616",
        "GQA (4 q/kv), sliding window 4096",
        "Qwen2.5-7B",
    ):
        assert needle in table, f"family_table.md lacks {needle!r}:\n{table}"
    assert "**no**" not in generation, f"generation.md shows differing tokens:\n{generation}"
    metrics = (tmp_path / "metrics.txt").read_text()
    assert metrics.startswith("family table: 6 configs") and "identical" in metrics, (
        f"metrics.txt: {metrics!r}"
    )
