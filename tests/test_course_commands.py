"""The week-05 headline path, as a new user runs it: the CPU preset with --export-hf gives a model
that transformers loads and that computes what the trained model computes."""

import json

import pytest
import torch

from course.week05_gpt import infer, train
from roadmap import ROOT


def test_preset_with_export_hf_writes_a_loadable_gpt2(tmp_path, capsys):
    transformers = pytest.importorskip("transformers")
    text = tmp_path / "text.txt"
    text.write_text("To be, or not to be, that is the question.\n" * 40, encoding="utf-8")
    out = tmp_path / "run"
    code = train.main(
        [
            "--config", str(ROOT / "configs" / "shakespeare_char_cpu.json"),
            "--text-file", str(text),
            "--out-dir", str(out),
            "--max-steps", "3",
            "--eval-interval", "3",
            "--eval-iters", "1",
            "--sample-tokens", "5",
            "--export-hf",
            "--impl", "solutions",
        ]
    )  # fmt: skip
    assert code == 0
    assert json.loads((out / "metrics.json").read_text())["steps"] == 3
    hf = transformers.GPT2LMHeadModel.from_pretrained(out / "hf").eval()
    model = infer.load_model(out)
    x = torch.randint(0, hf.config.vocab_size, (2, 9), generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        ours = model(x)
        ours = ours[0] if isinstance(ours, tuple) else ours
        theirs = hf(x).logits
    assert torch.allclose(ours, theirs, atol=1e-5), (ours - theirs).abs().max()
    # tiny-gpt-infer --stop cuts the printed text after the first stop text (here a space)
    capsys.readouterr()
    argv = ["--model", str(out), "--prompt", "To", "--max-new-tokens", "40", "--stop", " "]
    assert infer.main([*argv, "--impl", "solutions"]) == 0
    printed = capsys.readouterr().out.removesuffix("\n")
    assert printed.startswith("To") and " " not in printed[2:-1], printed
