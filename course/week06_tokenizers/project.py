"""Week 06 project: train a 10K-vocab byte-level BPE on WikiText-2 and report what it learned.

Trains your BPE on the first 90% of the WikiText-2 raw test text, then writes to reports/week06/:
merge_table.md (the first merges, readable), compression.md (bytes per token on the held-out 10%
for characters, raw bytes and your BPE at several vocab sizes: the first k merges of one training
run are themselves a BPE of vocab 256 + k), speed.md (your trainer vs HF tokenizers' BpeTrainer,
your encoder vs tiktoken and HF tokenizers given your ranks), and the tokenizer itself (bpe.txt,
tokenizer.json). `--short` trains a small vocab on the committed fixture.
Run: `python tracker.py project 6` (your code) or `python -m course.week06_tokenizers.project
--impl solutions`; the dataset needs env LLM_DATA_MIRROR=/work/shared/data or a network.
"""

import time
from dataclasses import dataclass, replace
from pathlib import Path

from roadmap.impl import load
from roadmap.project import parser, record, setup


@dataclass
class Config:
    vocab_size: int = 10_000  # bytes + merges of the trained BPE (special tokens come on top)
    dataset: str = "wikitext2-raw-test"  # dataset_path name of the training text
    text_file: str = ""  # train on this file instead of the dataset
    held_out: float = 0.1  # last fraction of the text, used only to measure compression
    table_rows: int = 60  # merges shown in merge_table.md


SHORT = Config(vocab_size=320, table_rows=20)


def read_text(cfg: Config, short: bool) -> tuple[str, str]:
    """(text, where it came from): --text-file, the fixture in short mode, else the dataset."""
    if cfg.text_file:
        return Path(cfg.text_file).read_text(encoding="utf-8"), cfg.text_file
    from course.data import dataset_path, fixture_path

    if short:
        parts = [fixture_path("week06", n) for n in ("tinyshakespeare_4k.txt", "unicode.txt")]
        return "".join(p.read_text(encoding="utf-8") for p in parts), "data/fixtures/week06"
    return dataset_path(cfg.dataset).read_text(encoding="utf-8"), cfg.dataset


def train_hf(text: str, vocab_size: int, pattern: str) -> float:
    """Seconds HF tokenizers' BpeTrainer needs for the same text, vocab and split pattern."""
    from tokenizers import Regex, Tokenizer, models, pre_tokenizers, trainers

    hf = Tokenizer(models.BPE())
    hf.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(pattern), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    lines = text.splitlines(keepends=True)
    start = time.perf_counter()
    hf.train_from_iterator(lines, trainer)
    return time.perf_counter() - start


def throughput(encode, text: str) -> float:
    """MB/s of `encode(text)`, one pass (a fresh tokenizer: its cache starts empty)."""
    start = time.perf_counter()
    encode(text)
    return len(text.encode("utf-8")) / 1e6 / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> int:
    p = parser(6, "Train a byte-level BPE and write its merge, compression and speed tables.")
    p.add_argument("--vocab-size", type=int, default=None, help="bytes + merges (default 10000)")
    p.add_argument("--text-file", default="", help="train on this UTF-8 file instead")
    args = p.parse_args(argv)
    out = setup(6, args)
    cfg = SHORT if args.short else Config()
    cfg = replace(cfg, text_file=args.text_file, vocab_size=args.vocab_size or cfg.vocab_size)

    train = load("week06_tokenizers.train")
    tokenizer = load("week06_tokenizers.tokenizer")
    report = load("week06_tokenizers.report")
    export = load("week06_tokenizers.export")
    patterns = load("week06_tokenizers.patterns")

    text, source = read_text(cfg, args.short)
    cut = int(len(text) * (1 - cfg.held_out))
    train_text, test_text = text[:cut], text[cut:]
    print(f"training vocab {cfg.vocab_size} on {len(train_text.encode()):,} bytes of {source}")

    start = time.perf_counter()
    merges = train.train_bpe(train_text, cfg.vocab_size, patterns.GPT4_SPLIT_PATTERN)
    train_s = time.perf_counter() - start
    hf_train_s = train_hf(train_text, cfg.vocab_size, patterns.GPT4_SPLIT_PATTERN)
    ranks = {pair: 256 + rank for rank, (pair, _count) in enumerate(merges)}
    specials = {s: 256 + len(merges) + i for i, s in enumerate(patterns.SPECIAL_TOKENS)}
    tok = tokenizer.BPETokenizer(ranks, patterns.GPT4_SPLIT_PATTERN, specials)
    tok.save(out / "bpe.txt")
    (out / "tokenizer.json").write_text(export.to_hf_json(tok), encoding="utf-8")

    # merge table: the first merges are the commonest pairs (" t", "he", " the", ...)
    table = report.merge_table(merges, top=cfg.table_rows)
    (out / "merge_table.md").write_text(
        f"# First {cfg.table_rows} of {len(merges)} merges ({source})\n\n{table}", encoding="utf-8"
    )

    # compression on held-out text: a prefix of the merges is a smaller BPE of the same run
    sizes = sorted({s for s in (512, 1024, 4096, cfg.vocab_size) if s <= 256 + len(merges)})
    tokenizations = {"bytes": list(test_text.encode("utf-8"))}
    for size in sizes:
        prefix = dict(list(ranks.items())[: size - 256])
        tokenizations[f"bpe {size}"] = tokenizer.BPETokenizer(prefix).encode_ordinary(test_text)
    comp = report.compression_table(test_text, tokenizations)
    (out / "compression.md").write_text(
        f"# Held-out compression ({len(test_text):,} characters of {source})\n\n{comp}",
        encoding="utf-8",
    )

    # speed: a fresh tokenizer each time, so the pre-token cache starts empty
    fresh = tokenizer.BPETokenizer(ranks, patterns.GPT4_SPLIT_PATTERN)
    mine = throughput(fresh.encode_ordinary, test_text)
    tik = throughput(export.to_tiktoken(tok).encode_ordinary, test_text)
    from tokenizers import Tokenizer

    hf_tok = Tokenizer.from_str(export.to_hf_json(tok))
    hf = throughput(lambda s: hf_tok.encode(s).ids, test_text)
    speed = [
        "| what | yours | library | library / yours |",
        "|---|---|---|---|",
        f"| train vocab {cfg.vocab_size} (s) | {train_s:.2f} | {hf_train_s:.2f} (HF BpeTrainer) "
        f"| {hf_train_s / train_s:.2f} |",
        f"| encode (MB/s) | {mine:.2f} | {tik:.2f} (tiktoken) | {tik / mine:.2f} |",
        f"| encode (MB/s) | {mine:.2f} | {hf:.2f} (HF tokenizers) | {hf / mine:.2f} |",
    ]
    (out / "speed.md").write_text(
        f"# Speed ({len(train_text.encode()):,} training bytes, {len(test_text.encode()):,} "
        "encoded bytes; one run, machine load not controlled)\n\n" + "\n".join(speed) + "\n",
        encoding="utf-8",
    )
    print(
        table if args.short else "\n".join(table.splitlines()[:12]),
        comp,
        "\n".join(speed),
        sep="\n",
    )

    bpt = len(test_text.encode("utf-8")) / len(tokenizations[f"bpe {sizes[-1]}"])
    record(
        6,
        f"bpe {256 + len(merges)}: held-out {bpt:.2f} bytes/token, train {train_s:.2f} s "
        f"(HF {hf_train_s:.2f} s), encode {mine:.2f} MB/s (tiktoken {tik:.2f} MB/s)",
        out,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
