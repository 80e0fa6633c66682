"""Check for w13.project: the toy PPO run, DPO (ours and trl's) and the reports, end to end on the
tree under test, in --short mode on a 16-record instruction fixture (never the real data set),
from the short course base (built on first use by the tree under test). A second run starts from a
GPT-2-shaped Hugging Face model with random weights saved here (vocab.json + merges.txt, as GPT-2's
hub files are, <|endoftext|> its only special): `--base` takes what `--base gpt2` would load
online."""

import json

import pytest

from course.data import fixture_path
from roadmap.checking import gpt2_shaped_model
from roadmap.impl import load
from roadmap.project import load_project

project = load_project("week13_alignment")
dpo = load("week13_alignment.dpo")


def run_project(tmp_path, *extra: str) -> dict:
    """project.main --short on the fixture; checks every artifact, returns the DPO run's card."""
    data = fixture_path("week13", "instruction_tiny.json")
    out, run = tmp_path / "out", tmp_path / "run"
    argv = ["--short", "--out", str(out), "--data-file", str(data), "--run-dir", str(run), *extra]
    assert project.main(argv) == 0, "project.main returned non-zero"
    for name in ("ppo.md", "ppo.png", "dpo.md", "dpo.png", "answers.md"):
        assert (out / name).exists(), f"the project did not write {name}"
    ppo = (out / "ppo.md").read_text(encoding="utf-8")
    assert "| update | reward (kl_coef 0.05) |" in ppo, ppo[:400]
    dpo = (out / "dpo.md").read_text(encoding="utf-8")
    assert "| step | loss (ours) | margin (ours) | loss (trl) | margin (trl) |" in dpo, dpo[:400]
    assert "| 0 | 0.6931 |" in dpo, f"the first DPO step must start at ln 2:\n{dpo}"
    answers = (out / "answers.md").read_text(encoding="utf-8")
    assert "- DPO (trl):" in answers, answers[:400]
    assert (out / "metrics.txt").read_text().startswith("ppo reward "), "metrics.txt missing"
    card = json.loads((run / "run.json").read_text(encoding="utf-8"))
    assert card["made_by"] == "week 13 DPO project (your dpo_step)", f"made_by {card['made_by']!r}"
    assert 0 <= card["metrics"]["held_out_accuracy"] <= 1, card["metrics"]
    return card


@pytest.mark.timeout(240)  # ~10 s of CPU; a loaded two-core machine may be 10x slower
def test_project_writes_the_curves_the_answers_and_the_dpo_run(tmp_path):
    card = run_project(tmp_path)
    assert "runs/base/short-" in card["base"].replace("\\", "/"), (
        f"run.json names base {card['base']!r}, not the short course base"
    )


@pytest.mark.timeout(240)
def test_project_starts_from_a_gpt2_family_hugging_face_model(tmp_path):
    pytest.importorskip(
        "transformers", reason="--base with a Hugging Face model needs the hf extra"
    )
    records = json.loads(
        fixture_path("week13", "instruction_tiny.json").read_text(encoding="utf-8")
    )
    texts = [" ".join([r["instruction"], r.get("input", ""), r["output"]]) for r in records]
    base = gpt2_shaped_model(tmp_path / "gpt2-tiny", texts)
    card = run_project(tmp_path, "--base", str(base))
    assert card["base"] == str(base), f"run.json names base {card['base']!r}, not {base}"
    assert card["tokenizer"]["specials"] == {"<|endoftext|>": 0}, (
        f"the DPO run's specials {card['tokenizer']['specials']}: a GPT-2 base keeps its own "
        "tokenizer (its answers end with <|endoftext|>)"
    )
