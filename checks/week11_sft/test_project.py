"""Check for w11.project: the whole pipeline end to end on the tree under test, in --short mode.

Runs on a 30-record fixture written for this check (data/fixtures/week11/instructions.json), so it
never needs the dataset; it starts from the short course base (built on first use by the tree under
test) and imports transformers and trl (SFTTrainer runs a few steps). A second run starts from a
GPT-2-shaped Hugging Face model with random weights saved here (vocab.json + merges.txt, as GPT-2's
hub files are, and no chat specials): `--base` takes what `--base gpt2` would load online.
"""

import json

import pytest

from course.data import fixture_path
from course.runs import load_run
from roadmap.checking import gpt2_shaped_model
from roadmap.impl import load
from roadmap.project import load_project

project = load_project("week11_sft")
formatting = load("week11_sft.formatting")


def run_project(tmp_path, *extra: str) -> dict:
    """project.main --short on the fixture; checks every artifact, returns the tuned run's card."""
    data = fixture_path("week11", "instructions.json")
    out, run = tmp_path / "out", tmp_path / "run"
    argv = ["--short", "--out", str(out), "--data", str(data), "--run-dir", str(run), *extra]
    assert project.main(argv) == 0, "project.main returned non-zero"
    for name in ("answers.md", "eval.md", "packing.md", "losses.png", "config.json", "metrics.txt"):
        assert (out / name).exists(), f"the project did not write {name}"
    answers = (out / "answers.md").read_text(encoding="utf-8")
    assert answers.count("- before:") == 3 and answers.count("- after (our loop):") == 3, answers[
        :500
    ]
    table = (out / "eval.md").read_text(encoding="utf-8")
    for row in ("| base (not tuned) |", "| our loop", "| trl SFTTrainer |"):
        assert row in table, f"eval.md lacks the row {row!r}:\n{table}"
    assert "| packed into rows of" in (out / "packing.md").read_text(encoding="utf-8")
    assert (out / "metrics.txt").read_text().startswith("sft test loss"), "metrics.txt missing"
    card = json.loads((run / "run.json").read_text(encoding="utf-8"))
    assert card["made_by"] == "week 11 SFT project", f"run.json made_by {card['made_by']!r}"
    model, tok = load_run(run)
    for special in ("<PAD>", "<|im_start|>", "<|im_end|>"):
        assert special in tok.special_tokens, f"the tuned run's tokenizer lacks {special}"
    assert model.config.vocab_size >= len(tok), "the tuned run's model has fewer rows than ids"
    return card


@pytest.mark.timeout(240)  # ~10 s of CPU; a loaded two-core machine may be 10x slower
def test_project_writes_answers_losses_eval_packing_and_the_tuned_run(tmp_path):
    # the learner's code first: an untouched week is todo before the project loads its base
    formatting.render_chatml([{"role": "user", "content": "Hi"}], add_generation_prompt=True)
    card = run_project(tmp_path)
    assert "runs/base/short-" in card["base"].replace("\\", "/"), (
        f"run.json names base {card['base']!r}, not the short course base"
    )


@pytest.mark.timeout(240)
def test_project_starts_from_a_gpt2_family_hugging_face_model(tmp_path):
    pytest.importorskip(
        "transformers", reason="--base with a Hugging Face model needs the hf extra"
    )
    formatting.render_chatml([{"role": "user", "content": "Hi"}], add_generation_prompt=True)
    records = json.loads(fixture_path("week11", "instructions.json").read_text(encoding="utf-8"))
    texts = [" ".join([r["instruction"], r.get("input", ""), r["output"]]) for r in records]
    base = gpt2_shaped_model(tmp_path / "gpt2-tiny", texts)
    card = run_project(tmp_path, "--base", str(base))
    assert card["base"] == str(base), f"run.json names base {card['base']!r}, not {base}"
    specials = card["tokenizer"]["specials"]
    assert specials == {"<|endoftext|>": 0, "<PAD>": 300, "<|im_start|>": 301, "<|im_end|>": 302}, (
        f"the tuned run's specials {specials}: the base has 300 ids with <|endoftext|> at 0, so "
        "add_special_tokens gives <PAD>, <|im_start|>, <|im_end|> the ids 300, 301, 302"
    )
    from transformers import AutoTokenizer

    hf_tok = AutoTokenizer.from_pretrained(str(tmp_path / "run"))
    assert "<|im_start|>" in (hf_tok.chat_template or ""), (
        "AutoTokenizer on the tuned run has no ChatML chat template"
    )
