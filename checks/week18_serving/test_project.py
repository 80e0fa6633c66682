"""Check for w18.project: the server starts on a socket, serves a load table and an agent
transcript, and stops (--short, a tiny random model; ~10 s)."""

from roadmap.project import load_project

project = load_project("week18_serving")


def test_project_short_run_writes_the_load_table_and_transcript(tmp_path):
    assert project.main(["--short", "--out", str(tmp_path)]) == 0, (
        "project.main returned non-zero (some load-test requests failed)"
    )
    load_md = (tmp_path / "load.md").read_text(encoding="utf-8")
    assert "| concurrent clients | requests | errors | tokens/s |" in load_md, load_md[:400]
    for c in (1, 8, 32):
        assert f"\n| {c} |" in load_md, f"load.md lacks the row for {c} clients:\n{load_md}"
    agent = (tmp_path / "agent.md").read_text(encoding="utf-8")
    assert "stopped: answer" in agent and "35" in agent, agent[:500]
    assert (tmp_path / "metrics.txt").read_text().startswith("serve "), "metrics.txt line"
