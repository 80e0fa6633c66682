"""Check for w01.project: the shape table runs end to end on the tree under test."""

from roadmap.project import load_project

project = load_project("week01_tensors")


def test_project_writes_the_shape_table(tmp_path):
    assert project.main(["--out", str(tmp_path)]) == 0, "project.main returned non-zero"
    table = (tmp_path / "shape_table.md").read_text()
    assert "| heads q | `split_heads(q, H)` | (2, 3, 5, 4) |" in table, (
        f"the table lacks the split-heads row:\n{table}"
    )
    assert "| merge heads | `merge_heads(out)` | (2, 5, 12) |" in table, (
        f"the table lacks the merge row:\n{table}"
    )
    assert (tmp_path / "metrics.txt").read_text().startswith("shape table:"), (
        "metrics.txt missing its line"
    )
