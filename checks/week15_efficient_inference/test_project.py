"""Check for w15.project: the throughput table, the concurrency plot and the memory table, end to
end on the tree under test (`--short`: 8 requests on a 2-layer model, a few seconds)."""

from roadmap.project import load_project

project = load_project("week15_efficient_inference")


def test_project_writes_the_throughput_table_and_the_plot(tmp_path):
    assert project.main(["--short", "--out", str(tmp_path)]) == 0, "project.main returned non-zero"
    text = (tmp_path / "throughput.md").read_text(encoding="utf-8")
    for needle in (
        "| sequential, week-08 KV cache |",
        "| engine, max_running 8 |",
        "| paged, peak",
    ):
        assert needle in text, f"throughput.md lacks {needle!r}:\n{text[:800]}"
    assert "identical to the sequential loop: 8 of 8" in text, (
        f"the engine's greedy outputs differ from week 08's loop:\n{text[:800]}"
    )
    png = (tmp_path / "concurrency.png").read_bytes()
    assert png.startswith(b"\x89PNG"), "concurrency.png is not a PNG"
    assert (tmp_path / "metrics.txt").read_text().startswith("engine "), (
        "metrics.txt missing its line"
    )
