"""Check for w04.project: the heatmap PNG and the head table are written."""

from roadmap.project import load_project

project = load_project("week04_attention")


def test_project_writes_heatmaps_and_table(tmp_path):
    assert project.main(["--short", "--out", str(tmp_path)]) == 0, "project.main returned non-zero"
    assert (tmp_path / "attention_heads.png").read_bytes()[:4] == b"\x89PNG", (
        "attention_heads.png missing"
    )
    table = (tmp_path / "heads.md").read_text()
    assert table.count("\n| ") == 5, f"heads.md should have a header and 4 head rows:\n{table}"
    assert (tmp_path / "metrics.txt").read_text().startswith("attention heatmaps:"), (
        "metrics.txt missing its line"
    )
