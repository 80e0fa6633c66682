"""Check for w12.project: the comparison table, plots, samples and the low-rank report, end to end
on the tree under test.

Runs `--short` on a 24-record fixture (data/fixtures/week12/instruction.json), so it never needs
the dataset; it starts from the short course base (built on first use by the tree under test). A
second run starts from a GPT-2-shaped Hugging Face model with random weights saved here
(vocab.json + merges.txt, as GPT-2's hub files are): `--base` takes what `--base gpt2` would load
online.
"""

import json

import pytest
import torch

from course.data import fixture_path
from course.runs import load_run
from roadmap.checking import gpt2_shaped_model
from roadmap.impl import load
from roadmap.project import load_project

project = load_project("week12_peft")
nf4 = load("week12_peft.nf4")
lowrank = load("week12_peft.lowrank")


def check_lowrank(out) -> None:
    """lowrank.md, spectrum.png, lowrank.png: the truncated full update vs LoRA, per matrix.

    Eckart-Young read off the per-matrix table: LoRA's update has rank <= r, so its relative error
    to the full update is never below the truncated SVD's, and that error is sqrt(1 - energy in
    the top r)."""
    for name in ("spectrum.png", "lowrank.png"):
        assert (out / name).stat().st_size > 1000, f"{name} missing or empty"
    text = (out / "lowrank.md").read_text(encoding="utf-8")
    table = text.split("## Per matrix")[1]
    rows = [line.split("|") for line in table.splitlines() if line.startswith("| transformer.")]
    assert len(rows) == 8, (
        f"lowrank.md: expected 8 adapted matrices (2 layers x 4), got {len(rows)}"
    )
    for row in rows:
        energy, svd_err, lora_err = (
            float(row[4].strip().rstrip("%")) / 100,
            float(row[6]),
            float(row[7]),
        )
        assert 1 - svd_err**2 == pytest.approx(energy, abs=2e-3), (
            f"lowrank.md {row[1].strip()}: SVD_r error {svd_err} is not sqrt(1 - energy in top r "
            f"{energy}): low_rank_error and the energy disagree"
        )
        assert lora_err >= svd_err - 1e-3, (
            f"lowrank.md {row[1].strip()}: LoRA's relative error {lora_err} is below the truncated "
            f"SVD's {svd_err}: a rank-r update cannot beat Eckart-Young (low_rank_error overstates "
            "the error of the best rank-r approximation)"
        )
    losses = {
        line.split("|")[1].strip(): float(line.split("|")[3])
        for line in text.split("## Eval loss")[0].splitlines()
        if line.startswith("| ") and not line.startswith("| model")
    }
    curve = {
        int(line.split("|")[1]): float(line.split("|")[2])
        for line in text.split("## Eval loss")[1].split("## Per matrix")[0].splitlines()
        if line.startswith("| ") and not line.startswith("| rank")
    }
    assert sorted(curve) == [1, 2, 4, 8, 16, 32], f"lowrank.md: ranks of the curve {sorted(curve)}"
    assert losses["base + SVD_8(full update)"] == curve[8], f"the rank-8 rows differ:\n{text}"
    assert losses["base + full update of the adapted weights"] == curve[32], (
        f"the rank-32 (all) row differs from the curve's:\n{text}"
    )


def run_project(tmp_path, *extra: str) -> tuple[str, dict]:
    """project.main --short on the fixture; checks every artifact, returns (comparison.md, the
    merged LoRA run's card)."""
    data = fixture_path("week12", "instruction.json")
    out, run = tmp_path / "out", tmp_path / "run"
    argv = ["--short", "--out", str(out), "--data-file", str(data), "--run-dir", str(run), *extra]
    assert project.main(argv) == 0, "project.main returned non-zero"
    table = (out / "comparison.md").read_text(encoding="utf-8")
    rows = {
        line.split("|")[1].strip(): line.split("|")
        for line in table.splitlines()
        if line.startswith("| ") and not line.startswith("| method")
    }
    assert set(rows) == {"full", "lora", "qlora"}, f"comparison.md rows: {sorted(rows)}\n{table}"
    pct = {m: float(r[4].strip().rstrip("%")) for m, r in rows.items()}
    assert pct["full"] == 100.0 and 0 < pct["lora"] < 100 and pct["qlora"] == pct["lora"], (
        f"trainable share per method {pct}: full trains everything, LoRA and QLoRA the same "
        "adapter (count_parameters, and the QLoRA base counted as weights)"
    )
    assert (out / "loss.png").stat().st_size > 1000, "loss.png missing or empty"
    assert "## Prompt 1" in (out / "samples.md").read_text(encoding="utf-8")
    assert (out / "metrics.txt").read_text().startswith("lora r=8"), "metrics.txt missing"
    check_lowrank(out)
    card = json.loads((run / "run.json").read_text(encoding="utf-8"))
    assert card["made_by"] == "week 12 LoRA project (merged)", f"made_by {card['made_by']!r}"
    model, _ = load_run(run)
    names = [name for name, _ in model.named_parameters()]
    assert not any("lora" in name for name in names), (
        f"the LoRA run still has adapter weights {[n for n in names if 'lora' in n][:3]}: "
        "merge_and_unload must leave a plain GPT"
    )
    lora_loss = float(rows["lora"][8])
    assert card["metrics"]["eval_loss"] == pytest.approx(lora_loss, abs=1e-4), (
        f"the run's eval loss {card['metrics']['eval_loss']} is not the lora row's {lora_loss}"
    )
    return table, card


@pytest.mark.timeout(240)  # a few s of CPU; a loaded two-core machine may be 10x slower
def test_project_writes_the_comparison_and_the_merged_lora_run(tmp_path):
    # the learner's code first: an untouched week is todo before the project loads its models
    nf4.nf4_code_book()
    lowrank.energy_rank(torch.ones(1), 1.0)
    table, card = run_project(tmp_path)
    assert "runs/base/short-" in card["base"].replace("\\", "/"), (
        f"run.json names base {card['base']!r}, not the short course base"
    )
    assert "Base: " in table and "runs/base/short-" in table.replace("\\", "/"), (
        f"comparison.md does not name the short course base it started from:\n{table[:600]}"
    )


@pytest.mark.timeout(240)
def test_project_starts_from_a_gpt2_family_hugging_face_model(tmp_path):
    pytest.importorskip(
        "transformers", reason="--base with a Hugging Face model needs the hf extra"
    )
    nf4.nf4_code_book()
    lowrank.energy_rank(torch.ones(1), 1.0)
    records = json.loads(fixture_path("week12", "instruction.json").read_text(encoding="utf-8"))
    texts = [" ".join([r["instruction"], r.get("input", ""), r["output"]]) for r in records]
    base = gpt2_shaped_model(tmp_path / "gpt2-tiny", texts)
    table, card = run_project(tmp_path, "--base", str(base))
    assert card["base"] == str(base), f"run.json names base {card['base']!r}, not {base}"
    assert "vocabulary 300" in table, f"comparison.md does not describe the 300-id base:\n{table}"
