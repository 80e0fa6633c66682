"""Check for w08.project: samples and the speed table, end to end on the tree under test.

Runs `--short` on a 3 KB text fixture with untrained models (--train-steps 0), so it never needs the dataset.
"""

from course.data import fixture_path
from roadmap.project import load_project

project = load_project("week08_inference")


def test_project_writes_samples_and_the_speed_table(tmp_path):
    text = fixture_path("week08", "tiny_text.txt")
    argv = ["--short", "--out", str(tmp_path), "--text-file", str(text), "--train-steps", "0"]
    assert project.main(argv) == 0, "project.main returned non-zero"
    samples = (tmp_path / "samples.md").read_text(encoding="utf-8")
    for label in ("greedy (temperature 0)", "temperature 1.3", "top-p 0.9", "min-p 0.1"):
        assert f"## {label}" in samples, f"samples.md lacks the section {label!r}:\n{samples[:500]}"
    assert "\ufffd" not in samples, "samples.md contains a replacement character: see stream_text"
    speed = (tmp_path / "speed.md").read_text(encoding="utf-8")
    assert "| new tokens | no cache (tok/s) | KV cache (tok/s) | speedup |" in speed, speed
    assert "| speculative |" in speed, f"speed.md lacks the speculative decoding row:\n{speed}"
    assert (tmp_path / "metrics.txt").read_text().startswith("kv cache "), (
        "metrics.txt missing its line"
    )
