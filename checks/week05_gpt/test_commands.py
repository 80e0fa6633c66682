"""Checks for the tiny-gpt-train / tiny-gpt-infer commands: config handling and an end-to-end run.

Runs the commands in-process on a 3 KB text fixture for 12 steps; everything goes to tmp_path.
The configuration rules (given code, no learner code) are tests/test_week05_commands.py.
"""

import json

import torch

from course.data import fixture_path
from course.week05_gpt import infer, train
from roadmap import ROOT
from roadmap.impl import current_tree, load

model = load("week05_gpt.model")

TINY = str(ROOT / "configs" / "tiny_test.json")


def test_train_then_infer_end_to_end(tmp_path, capsys):
    # the learner's code first: an untouched week is todo before the trainer starts
    model.LayerNorm(3)(torch.ones(1, 3))
    run = tmp_path / "run"
    text = str(fixture_path("week05", "tiny.txt"))
    flags = ["--config", TINY, "--text-file", text, "--out-dir", str(run), "--max-steps", "12"]
    assert train.main([*flags, "--impl", current_tree()]) == 0
    for name in (
        "config.json",
        "char_vocab.json",
        "ckpt.pt",
        "log.txt",
        "metrics.json",
        "loss.png",
        "sample.txt",
    ):
        assert (run / name).exists(), f"tiny-gpt-train did not write {name} into the run directory"
    resolved = json.loads((run / "config.json").read_text())
    assert resolved["max_steps"] == 12 and resolved["text_file"] == text, (
        "config.json must hold the resolved settings"
    )
    log = (run / "log.txt").read_text()
    assert "step 12 | train " in log and " | val " in log and "ms/step" in log, (
        f"log lines are not grep-able:\n{log}"
    )
    capsys.readouterr()
    args = [
        "--model",
        str(run),
        "--prompt",
        "ALICE:",
        "--max-new-tokens",
        "20",
        "--temperature",
        "0",
    ]
    assert infer.main([*args, "--impl", current_tree()]) == 0
    first = capsys.readouterr().out
    infer.main([*args, "--impl", current_tree()])
    # print() adds one newline after the prompt and the 20 new characters, whatever they are
    assert first.startswith("ALICE:") and len(first) == len("ALICE:") + 20 + 1, (
        f"tiny-gpt-infer --max-new-tokens 20 printed {first!r}: expected the prompt, then 20 new "
        "characters (any: a greedy model may well print newlines), then one newline"
    )
    assert capsys.readouterr().out == first, "greedy sampling must repeat itself"
