"""Week 05 project: train a character GPT with tiny-gpt-train, then sample from it with tiny-gpt-infer.

The full run trains the CPU preset (configs/shakespeare_char_cpu.json) on tiny Shakespeare for a few
minutes; --short trains configs/tiny_test.json for a handful of steps. The run directory (checkpoint,
loss.png, log.txt, sample.txt) is OUT/run; OUT/samples.md holds samples at three temperatures.
Run: `python tracker.py project 5` (your code) or `python -m course.week05_gpt.project --impl solutions`.
"""

import contextlib
import io
import json

from roadmap import ROOT
from roadmap.impl import current_tree
from roadmap.project import parser, record, setup

from . import infer, train


def main(argv: list[str] | None = None) -> int:
    p = parser(5, "Train a character GPT and sample from it.")
    p.add_argument("--text-file", default="", help="train on this text instead of tiny Shakespeare")
    p.add_argument("--max-minutes", type=float, default=3.0, help="time budget of the full run")
    args = p.parse_args(argv)
    out = setup(5, args)
    run = out / "run"
    preset = "tiny_test.json" if args.short else "shakespeare_char_cpu.json"
    flags = [
        "--config",
        str(ROOT / "configs" / preset),
        "--out-dir",
        str(run),
        "--impl",
        current_tree(),
    ]
    if args.text_file:
        flags += ["--text-file", args.text_file]
    if not args.short:
        flags += ["--max-minutes", str(args.max_minutes)]
    train.main(flags)

    n_tokens = "60" if args.short else "300"
    lines = ["# Samples from the week-05 GPT", ""]
    for temperature in (0.0, 0.8, 1.2):
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            infer.main(
                ["--model", str(run), "--prompt", "\n", "--max-new-tokens", n_tokens,
                 "--temperature", str(temperature), "--impl", current_tree()]
            )  # fmt: skip
        lines += [f"## temperature {temperature}", "", "```", buf.getvalue().strip("\n"), "```", ""]
    (out / "samples.md").write_text("\n".join(lines), encoding="utf-8")
    metrics = json.loads((run / "metrics.json").read_text())
    record(
        5,
        f"char GPT: val {metrics['val']:.4f} after {metrics['steps']} steps "
        f"({metrics['minutes']:.1f} min, {metrics['tok_per_s'] / 1e3:.1f}k tok/s, "
        f"{metrics['parameters'] / 1e6:.2f}M params)",
        out,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
