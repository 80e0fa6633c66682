"""Week 02 project: count and neural bigram models on tiny Shakespeare.

Fits count n-gram models (n = 1, 2, 3, add-k smoothed) and trains the neural bigram with the
week's loop; reports the val NLL of each (the count bigram reaches about 2.48 nats/char, and the
neural bigram should land within a few hundredths of it), saves a sample and the loss curve.
Run: `python tracker.py project 2` (your code) or `python tracker.py project 2 --impl solutions`;
`--tokenizer word` swaps in the word tokenizer.
"""

import time
from dataclasses import dataclass
from pathlib import Path

import torch

from roadmap.impl import load
from roadmap.project import parser, record, setup


@dataclass
class BigramProjectConfig:
    block_size: int = 64  # T of each training block
    batch_size: int = 64  # blocks per step
    steps: int = 3000  # neural bigram optimizer steps
    lr: float = 0.05  # AdamW learning rate (a lookup table tolerates a large one)
    eval_every: int = 250  # steps between loss evaluations
    eval_batches: int = 20  # batches per split per evaluation
    add_k: float = 0.1  # pseudo-count of the count models
    max_order: int = 3  # largest n of the count n-gram models
    max_word_vocab: int = 2000  # vocabulary cap of the word tokenizer
    sample_tokens: int = 500  # length of the saved sample
    seed: int = 1337  # seeds batches and sampling
    threads: int = 1  # torch CPU threads: models this small run fastest on one, and a shared machine punishes two


SHORT = {
    "steps": 40,
    "batch_size": 8,
    "block_size": 32,
    "eval_every": 20,
    "eval_batches": 2,
    "sample_tokens": 100,
}


def read_text(text_file: Path | None) -> str:
    """The corpus: --text-file if given, else tiny Shakespeare from the data registry."""
    if text_file is not None:
        return text_file.read_text(encoding="utf-8")
    from course.data import dataset_path

    return dataset_path("tinyshakespeare").read_text(encoding="utf-8")


def make_tokenizer(kind: str, text: str, cfg: BigramProjectConfig):
    """The one place the tokenizer is chosen; everything after it only uses encode/decode."""
    if kind == "char":
        return load("week02_bigram.char_tokenizer").CharTokenizer.from_text(text)
    return load("week02_bigram.word_tokenizer").WordTokenizer.from_text(text, cfg.max_word_vocab)


def full_nll(model: torch.nn.Module, ids: torch.Tensor) -> float:
    """Mean NLL of every next token of `ids` (positions 1..N-1), the same positions a count bigram scores."""
    with torch.no_grad():
        _, loss = model(ids[None, :-1], ids[None, 1:])
    return loss.item()


def plot_losses(history: list[dict], count_val: float, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = [h["step"] for h in history]
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(steps, [h["train"] for h in history], label="neural bigram, train")
    ax.plot(steps, [h["val"] for h in history], label="neural bigram, val")
    ax.axhline(
        count_val, color="gray", linestyle="--", label=f"count bigram, val ({count_val:.3f})"
    )
    ax.set_xlabel("step")
    ax.set_ylabel("loss (nats/token)")
    ax.set_title("Bigram language models")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    p = parser(2, "Count vs neural bigram on tiny Shakespeare: val NLL, a sample, a loss curve.")
    p.add_argument("--text-file", type=Path, default=None, help="train on this text instead")
    p.add_argument("--tokenizer", choices=("char", "word"), default="char")
    args = p.parse_args(argv)
    out = setup(2, args)
    cfg = BigramProjectConfig(**(SHORT if args.short else {}))
    threads = torch.get_num_threads()
    torch.set_num_threads(cfg.threads)
    try:
        return run(args, cfg, out)
    finally:
        torch.set_num_threads(threads)


def run(args, cfg: BigramProjectConfig, out: Path) -> int:
    """Fit, train, sample, plot and record; returns the exit code."""
    dataset_mod = load("week02_bigram.dataset")
    ngram = load("week02_bigram.ngram")
    bigram = load("week02_bigram.bigram")
    train_mod = load("week02_bigram.train")
    sample_mod = load("week02_bigram.sample")
    t_start = time.perf_counter()

    text = read_text(args.text_file)
    tok = make_tokenizer(args.tokenizer, text, cfg)
    ids = torch.tensor(tok.encode(text), dtype=torch.long)
    ds = dataset_mod.TokenDataset(ids, cfg.block_size)
    V = tok.vocab_size
    print(f"{len(ids):,} tokens, vocab {V}, train {len(ds.train):,}, val {len(ds.val):,}")

    rows = []  # (model, train NLL, val NLL)
    for n in range(1, cfg.max_order + 1):
        if V**n > 5_000_000:  # a dense (V,) * n table gets too big; word trigrams stop here
            break
        logp = ngram.smoothed_log_probs(ngram.ngram_counts(ds.train, n, V), cfg.add_k)
        rows.append(
            (
                f"count {n}-gram (add-{cfg.add_k})",
                ngram.ngram_nll(logp, ds.train),
                ngram.ngram_nll(logp, ds.val),
            )
        )
    count_val = rows[1][2]

    model = bigram.BigramLM(V)
    tcfg = train_mod.TrainConfig(
        steps=cfg.steps,
        batch_size=cfg.batch_size,
        lr=cfg.lr,
        eval_every=cfg.eval_every,
        eval_batches=cfg.eval_batches,
        seed=cfg.seed,
    )
    t0 = time.perf_counter()
    history = train_mod.train(model, ds, tcfg)
    train_s = time.perf_counter() - t0
    neural_train, neural_val = full_nll(model, ds.train), full_nll(model, ds.val)
    rows.append((f"neural bigram ({cfg.steps} steps)", neural_train, neural_val))

    g = torch.Generator().manual_seed(cfg.seed)
    start = torch.tensor([[ids[0].item()]])
    sampled = sample_mod.sample(model, start, cfg.sample_tokens, g)[0].tolist()
    (out / "sample.txt").write_text(tok.decode(sampled), encoding="utf-8")
    plot_losses(history, count_val, out / "loss_curve.png")

    lines = [
        f"# Bigram models ({args.tokenizer} tokens, V={V}, {len(ids):,} tokens)",
        "",
        "| model | train NLL | val NLL | val perplexity |",
        "|---|---|---|---|",
        *[
            f"| {name} | {tr:.4f} | {va:.4f} | {torch.tensor(va).exp():.2f} |"
            for name, tr, va in rows
        ],
        "",
        f"Neural bigram training: {train_s:.1f} s. Whole run: {time.perf_counter() - t_start:.1f} s.",
        "",
    ]
    table = "\n".join(lines)
    print(table)
    print(tok.decode(sampled))
    (out / "results.md").write_text(table, encoding="utf-8")
    record(
        2,
        f"{args.tokenizer} bigram val NLL: count {count_val:.4f} | neural {neural_val:.4f} "
        f"({cfg.steps} steps, {train_s:.1f} s)",
        out,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
