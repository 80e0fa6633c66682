"""The course's commands as a new user runs them: the week-05 CPU preset with --export-hf gives a
model that transformers loads and that computes what the trained model computes; both trainers
(tiny-gpt-train, llm-train) keep a --max-minutes budget with every output written, and say how
long is left as they go."""

import contextlib
import io
import json
import time

import pytest
import torch

from course.data import fixture_path
from course.week05_gpt import infer, train
from course.week09_training import train as week09_train
from course.week09_training.project import SHORT
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


class ClockedStream(io.StringIO):
    """A stdout that notes when each line arrives (time.perf_counter), and is not a terminal."""

    def __init__(self):
        super().__init__()
        self.times: list[float] = []

    def write(self, text: str) -> int:
        self.times += [time.perf_counter()] * text.count("\n")
        return super().write(text)

    def isatty(self) -> bool:
        return False


BUDGET_S = 6.0  # --max-minutes 0.1
SLACK_S = 3.0  # the end's estimate may be off by a little; a 2-minute overrun is what this catches
WEEK09_TINY = [*SHORT, "--eval-interval", "20", "--no-tensorboard"]  # the project's --short data
RUNS = {
    "tiny-gpt-train": (
        train,
        ["--config", str(ROOT / "configs" / "tiny_test.json"), "--eval-interval", "50", "--eval-iters", "200",
         "--text-file", str(fixture_path("week05", "tiny.txt"))],
        ("config.json", "char_vocab.json", "ckpt.pt", "log.txt", "metrics.json", "loss.png",
         "sample.txt"),
    ),
    "llm-train": (
        week09_train,
        WEEK09_TINY,
        ("config.toml", "ckpt.pt", "steps.jsonl", "log.txt", "metrics.json", "curves.png",
         "sample.txt"),
    ),
}  # fmt: skip


@pytest.mark.parametrize("command", RUNS)
def test_every_option_has_help(command):
    module = RUNS[command][0]
    missing = [
        a.option_strings[0]
        for a in module.build_parser()._actions
        if a.option_strings and (not a.help or a.help.startswith(" (default"))
    ]
    assert not missing, f"{command} --help says nothing about {missing}: give each field a comment"


@pytest.mark.parametrize("command", RUNS)
def test_max_minutes_bounds_the_whole_run_and_plain_output_keeps_coming(
    command, tmp_path, monkeypatch
):
    """A 6-second budget, a step budget far out of reach and an end that does not fit (a 5,000-token
    sample takes ~5 s on its own): the run, final evaluation, sample and files included, ends within
    the budget plus SLACK_S, every output written, and without a terminal a line arrives at least
    every couple of seconds (--log-seconds 0.5)."""
    module, args, outputs = RUNS[command]
    monkeypatch.setenv("LLM_IMPL", "solutions")  # main() sets it; restored afterwards
    out = tmp_path / "run"
    argv = [*args, "--out-dir", str(out), "--max-steps", "1000000", "--max-minutes", "0.1",
            "--sample-tokens", "5000", "--log-seconds", "0.5", "--threads", "1",
            "--impl", "solutions"]  # fmt: skip
    stream = ClockedStream()
    t0 = time.perf_counter()
    with contextlib.redirect_stdout(stream):
        assert module.main(argv) == 0
    wall = time.perf_counter() - t0
    printed = stream.getvalue()
    assert wall <= BUDGET_S + SLACK_S, (
        f"{command} --max-minutes 0.1 took {wall:.1f} s, budget {BUDGET_S:.0f} s:\n{printed}"
    )
    missing = [name for name in outputs if not (out / name).exists()]
    assert not missing, f"{command} ran out of time before writing {missing}:\n{printed}"
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["steps"] > 0, f"{command} trained no step in {BUDGET_S:.0f} s:\n{printed}"
    assert metrics["sample_tokens"] < 5000, (
        f"{command} sampled all 5,000 tokens in a 6-second budget: was the sample budgeted?"
    )
    # from the first line that says the time left to the last: training, evaluations, the sample
    lines = printed.splitlines()
    first = next(i for i, line in enumerate(lines) if " s left" in line)
    last = next(i for i, line in enumerate(lines) if line.startswith("done: "))
    times = stream.times[first : last + 1]
    gap = max(b - a for a, b in zip(times, times[1:]))
    assert gap <= 2.5, f"{command} printed nothing for {gap:.1f} s (--log-seconds 0.5):\n{printed}"
    assert printed.count(" s left") >= 4, (
        f"{command} with a time budget must say the time left as it goes:\n{printed}"
    )
