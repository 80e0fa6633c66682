"""Check for w05.project: the short run trains, samples and records a metrics line."""

from course.data import fixture_path
from roadmap.project import load_project

project = load_project("week05_gpt")


def test_project_short_run(tmp_path):
    text = str(fixture_path("week05", "tiny.txt"))
    assert project.main(["--short", "--out", str(tmp_path), "--text-file", text]) == 0
    assert (tmp_path / "run" / "loss.png").stat().st_size > 1000, (
        "the loss curve PNG is missing or empty"
    )
    samples = (tmp_path / "samples.md").read_text()
    assert samples.count("## temperature") == 3, (
        f"samples.md should have three temperatures:\n{samples}"
    )
    assert (tmp_path / "metrics.txt").read_text().startswith("char GPT: val "), (
        "metrics.txt missing its line"
    )
