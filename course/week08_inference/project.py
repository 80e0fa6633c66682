"""Week 08 project: sample a character GPT at several settings and measure what the KV cache and
speculative decoding buy.

Takes a tiny-gpt-train run (`--model DIR`: ckpt.pt + char_vocab.json) or, without one, trains a
small character GPT on tiny Shakespeare (or `--text-file`) for `--train-steps` steps itself. Writes
to the out folder (default reports/week08/):
  samples.md  streamed samples at several temperatures, top-p and min-p values
  speed.md    tokens/s without and with the KV cache, and speculative decoding with a smaller draft
Run: `python tracker.py project 8` (your code) or `python -m course.week08_inference.project
--impl solutions`. `--short` finishes in seconds.
"""

import json
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from course.week05_gpt.data import CharTokenizer, load_text
from roadmap.impl import load
from roadmap.project import parser, record, setup
from solutions.week05_gpt.checkpoint import load_checkpoint
from solutions.week05_gpt.model import GPT, GPTConfig

PRESET = Path(__file__).resolve().parents[2] / "configs" / "shakespeare_char_cpu.json"


@dataclass
class ProjectConfig:
    train_steps: int = 300  # steps to train the target when no --model is given
    batch_size: int = 16  # training batch
    lengths: tuple[int, ...] = (100, 500, 1000)  # new tokens per speed measurement
    sample_tokens: int = 300  # characters per sample
    draft_layers: int = 1  # the speculative draft: a 1-layer, 64-channel GPT trained alongside
    draft_embd: int = 64
    k: int = 4  # drafted tokens per speculative round
    seed: int = 1337


SHORT = ProjectConfig(
    train_steps=30, batch_size=8, lengths=(10, 30), sample_tokens=30, draft_embd=32
)

SETTINGS = [  # (label, SamplingParams keyword arguments) for samples.md
    ("greedy (temperature 0)", dict(temperature=0.0)),
    ("temperature 0.5", dict(temperature=0.5)),
    ("temperature 0.8", dict(temperature=0.8)),
    ("temperature 1.0", dict(temperature=1.0)),
    ("temperature 1.3", dict(temperature=1.3)),
    ("top-p 0.5", dict(temperature=1.0, top_p=0.5)),
    ("top-p 0.9", dict(temperature=1.0, top_p=0.9)),
    ("min-p 0.1, temperature 1.3", dict(temperature=1.3, min_p=0.1)),
]


def train_char_gpt(
    ids: torch.Tensor, config: GPTConfig, steps: int, batch_size: int, seed: int
) -> GPT:
    """A plain AdamW loop on random (batch_size, block_size) windows of `ids`; returns eval mode."""
    torch.manual_seed(seed)
    model = GPT(config)
    if steps == 0:
        return model.eval()  # random weights: enough to exercise the pipeline
    opt = torch.optim.AdamW(model.parameters(), lr=2e-3, weight_decay=0.1)
    g = torch.Generator().manual_seed(seed)
    T = config.block_size
    for _ in range(steps):
        starts = torch.randint(0, len(ids) - T - 1, (batch_size,), generator=g)
        x = torch.stack([ids[s : s + T] for s in starts.tolist()])
        y = torch.stack([ids[s + 1 : s + T + 1] for s in starts.tolist()])
        _, loss = model(x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return model.eval()


def build_models(args, cfg: ProjectConfig) -> tuple[GPT, GPT, CharTokenizer, str]:
    """(target, draft, tokenizer, where the target came from)."""
    text = load_text(args.text_file)
    if args.model is not None:
        model, _ = load_checkpoint(args.model / "ckpt.pt")
        tok = CharTokenizer.load(args.model)
        source = f"checkpoint {args.model}"
    else:
        tok = CharTokenizer.from_text(text)
        dims = json.loads(PRESET.read_text()) if PRESET.exists() else {}
        if args.short:
            dims = dict(block_size=64, n_layer=2, n_head=2, n_embd=48)
        config = GPTConfig(
            block_size=dims.get("block_size", 128),
            vocab_size=tok.vocab_size,
            n_layer=dims.get("n_layer", 4),
            n_head=dims.get("n_head", 4),
            n_embd=dims.get("n_embd", 128),
        )
        ids = torch.tensor(tok.encode(text), dtype=torch.long)
        model = train_char_gpt(ids, config, cfg.train_steps, cfg.batch_size, cfg.seed)
        source = (
            f"trained here for {cfg.train_steps} steps ({config.n_layer} layers, C={config.n_embd})"
        )
    ids = torch.tensor(tok.encode(text), dtype=torch.long)
    draft_config = GPTConfig(
        block_size=model.config.block_size,
        vocab_size=tok.vocab_size,
        n_layer=cfg.draft_layers,
        n_head=2,
        n_embd=cfg.draft_embd,
    )
    draft = train_char_gpt(ids, draft_config, cfg.train_steps, cfg.batch_size, cfg.seed + 1)
    return model, draft, tok, source


def write_samples(out: Path, model: GPT, tok: CharTokenizer, cfg: ProjectConfig) -> None:
    """Stream one sample per setting through the learner's stream_text; save them as Markdown."""
    generate = load("week08_inference.generate")
    sampling = load("week08_inference.sampling")
    streaming = load("week08_inference.streaming")
    prompt_text = "ROMEO:" if all(c in tok.stoi for c in "ROMEO:") else tok.chars[0]
    prompt = torch.tensor([tok.encode(prompt_text)])
    lines = [
        f"# Samples (prompt {prompt_text!r}, {cfg.sample_tokens} characters, seed {cfg.seed})",
        "",
    ]
    for label, kwargs in SETTINGS:
        steps = generate.iter_tokens_cached(
            model,
            prompt,
            cfg.sample_tokens,
            sampling.SamplingParams(**kwargs),
            generator=torch.Generator().manual_seed(cfg.seed),
        )
        pieces = streaming.stream_text(
            (int(t[0]) for t in steps), lambda i: tok.chars[i].encode("utf-8")
        )
        text = prompt_text + "".join(pieces)
        print(f"--- {label}\n{text}\n")
        lines += [f"## {label}", "", "```text", text, "```", ""]
    (out / "samples.md").write_text("\n".join(lines), encoding="utf-8")


def measure_speed(model: GPT, draft: GPT, cfg: ProjectConfig) -> tuple[list[str], dict]:
    """Markdown lines of the speed table and the headline numbers."""
    generate = load("week08_inference.generate")
    sampling = load("week08_inference.sampling")
    bench = load("week08_inference.benchmark")
    speculative = load("week08_inference.speculative")
    prompt = torch.zeros(1, 1, dtype=torch.long)
    lines = [
        "| new tokens | no cache (tok/s) | KV cache (tok/s) | speedup |",
        "|---:|---:|---:|---:|",
    ]
    speedups = {}
    for n in cfg.lengths:

        def plain(n=n):
            generate.generate_uncached(model, prompt, n)
            return n

        def cached(n=n):
            generate.generate_cached(model, prompt, n)
            return n

        slow = bench.tokens_per_second(plain, repeats=1, warmup=0)
        fast = bench.tokens_per_second(cached, repeats=3, warmup=1)
        speedups[n] = fast / slow
        lines.append(f"| {n} | {slow:,.0f} | {fast:,.0f} | {fast / slow:.1f}x |")

    bs = model.config.block_size
    n = cfg.lengths[1] if len(cfg.lengths) > 1 else cfg.lengths[0]
    stats = {}

    unit = sampling.SamplingParams(temperature=1.0)  # the speculative sampler's distribution

    def target_only():
        g = torch.Generator().manual_seed(cfg.seed)
        generate.generate_uncached(model, prompt, n, unit, generator=g)
        return n

    def spec():
        g = torch.Generator().manual_seed(cfg.seed)
        with torch.inference_mode():
            _, acc, prop = speculative.speculative_generate(
                lambda ids: model(ids[:, -bs:])[0],
                lambda ids: draft(ids[:, -bs:])[0],
                prompt,
                n,
                k=cfg.k,
                generator=g,
            )
        stats.update(accepted=acc, proposed=prop)
        return n

    base = bench.tokens_per_second(target_only, repeats=1, warmup=0)
    fast = bench.tokens_per_second(spec, repeats=1, warmup=0)
    rate = stats["accepted"] / stats["proposed"]
    lines += [
        "",
        f"Speculative decoding, {n} new tokens at temperature 1, k = {cfg.k}, no cache in either model: "
        f"draft {draft.config.n_layer} layer(s), C={draft.config.n_embd} "
        f"({draft.get_num_params() / 1e6:.2f}M parameters) for a target of {model.config.n_layer} "
        f"layers, C={model.config.n_embd} ({model.get_num_params() / 1e6:.2f}M).",
        "",
        "| method | tok/s | acceptance rate | speedup |",
        "|---|---:|---:|---:|",
        f"| target alone | {base:,.0f} | | 1.0x |",
        f"| speculative | {fast:,.0f} | {rate:.2f} | {fast / base:.1f}x |",
    ]
    return lines, dict(speedups=speedups, acceptance=rate, spec_speedup=fast / base)


def main(argv: list[str] | None = None) -> int:
    p = parser(8, "Samples at several temperatures and top-p values; a KV-cache speed table.")
    p.add_argument("--model", type=Path, default=None, help="a tiny-gpt-train run directory")
    p.add_argument(
        "--text-file", type=Path, default=None, help="training text (default tiny Shakespeare)"
    )
    p.add_argument("--train-steps", type=int, default=None, help="override the training steps")
    p.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch threads (1: tiny ops, steadier on a shared CPU)",
    )
    args = p.parse_args(argv)
    out = setup(8, args)
    torch.set_num_threads(args.threads)
    cfg = SHORT if args.short else ProjectConfig()
    if args.train_steps is not None:
        cfg.train_steps = args.train_steps
    start = time.perf_counter()
    model, draft, tok, source = build_models(args, cfg)
    write_samples(out, model, tok, cfg)
    lines, numbers = measure_speed(model, draft, cfg)
    threads = torch.get_num_threads()
    header = [
        "# Generation speed, week-05 GPT on CPU",
        "",
        f"Target: {source}; {model.get_num_params() / 1e6:.2f}M parameters, block_size "
        f"{model.config.block_size}. Batch 1, greedy, {threads} torch threads. Past block_size the "
        "uncached loop re-crops every step and the cached loop slides (see generate.py).",
        "",
    ]
    table = "\n".join(header + lines) + "\n"
    print(table)
    (out / "speed.md").write_text(table, encoding="utf-8")
    ups = numbers["speedups"]
    record(
        8,
        f"kv cache {'/'.join(f'{ups[n]:.1f}x' for n in ups)} at {'/'.join(map(str, ups))} "
        f"tokens | speculative acceptance "
        f"{numbers['acceptance']:.2f}, {numbers['spec_speedup']:.1f}x | "
        f"{time.perf_counter() - start:.0f} s",
        out,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
