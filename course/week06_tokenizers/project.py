"""Week 06 project: train a 10K-vocab byte-level BPE on WikiText-2 and report what it learned.

Trains your BPE on the first 90% of the WikiText-2 raw test text, then writes to reports/week06/:
merge_table.md (the first merges, readable), compression.md (bytes per token on the held-out 10%
for characters, raw bytes and your BPE at several vocab sizes: the first k merges of one training
run are themselves a BPE of vocab 256 + k), speed.md (your trainer vs HF tokenizers' BpeTrainer,
your encoder vs tiktoken and HF tokenizers given your ranks), comparison.md (BPE vs WordPiece vs
Unigram at one vocabulary size: tokens per word, bytes per token and the share of the vocabulary
the held-out text uses) and the tokenizer itself (bpe.txt, tokenizer.json). `--short` trains a
small vocab on the committed fixture.
Run: `python tracker.py project 6` (your code) or `python -m course.week06_tokenizers.project
--impl solutions`; the dataset needs env LLM_DATA_MIRROR=DIR or a network.
"""

import tempfile
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
    compare_vocab: int = 4096  # ids per tokenizer in comparison.md (Unigram: pieces + 256 bytes)


SHORT = Config(vocab_size=320, table_rows=20, compare_vocab=800)
SPM_SETTINGS = dict(  # sentencepiece's Unigram trained like yours (see the w06.unigram_spm handout)
    model_type="unigram",
    normalization_rule_name="identity",
    byte_fallback=True,
    character_coverage=1.0,
    split_by_unicode_script=False,
    split_by_number=False,
    hard_vocab_limit=False,  # a small text may not hold vocab_size pieces: take what it has
    minloglevel=2,
)


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


def train_wordpiece(text: str, vocab_size: int) -> dict[str, int]:
    """A WordPiece vocabulary from HF tokenizers' WordPieceTrainer (the week has no WordPiece
    trainer of its own, only the encoder), with BERT's pre-tokenizer and no lower-casing."""
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers

    hf = Tokenizer(models.WordPiece(unk_token="[UNK]"))
    hf.pre_tokenizer = pre_tokenizers.BertPreTokenizer()
    trainer = trainers.WordPieceTrainer(
        vocab_size=vocab_size, special_tokens=["[UNK]"], show_progress=False
    )
    hf.train_from_iterator(text.splitlines(), trainer)
    return hf.get_vocab()


def train_spm(text: str, vocab_size: int, folder: Path):
    """sentencepiece's Unigram with `vocab_size` ids in all (<unk>, <s>, </s>, 256 bytes, pieces),
    trained on the lines of `text`; returns its SentencePieceProcessor (the model is in folder)."""
    import sentencepiece

    prefix = folder / "spm_unigram"
    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=iter(text.splitlines()),
        model_prefix=str(prefix),
        vocab_size=vocab_size,
        **SPM_SETTINGS,
    )
    return sentencepiece.SentencePieceProcessor(model_file=f"{prefix}.model")


def comparison_row(name: str, n_ids: int, tokens: list, text: str, unknown: int = 0) -> str:
    """| name | ids | tokens per word | bytes per token | vocabulary used | unknown |: words split
    at whitespace; vocabulary used = distinct tokens / the ids the tokenizer has; unknown = tokens
    that lost their text ([UNK]; byte-level tokenizers have none)."""
    words = len(text.split())
    n_bytes = len(text.encode("utf-8"))
    used = len(set(tokens)) / n_ids
    return (
        f"| {name} | {n_ids} | {len(tokens) / words:.2f} | {n_bytes / len(tokens):.2f} | "
        f"{used:.1%} | {unknown} |"
    )


def compare(train_text: str, test_text: str, vocab_size: int, merges: list) -> str:
    """BPE vs WordPiece vs Unigram, each with about `vocab_size` ids, trained on `train_text`,
    measured on `test_text`: a Markdown table (see comparison_row). BPE is your w06.train (the
    first merges of the project's run when it has enough: a prefix of a BPE run is the smaller
    BPE), WordPiece your w06.wordpiece over HF's trained vocabulary, Unigram your w06.unigram_train
    (vocab_size - 256 pieces, so with byte fallback it has vocab_size ids) and sentencepiece's."""
    train = load("week06_tokenizers.train")
    tokenizer = load("week06_tokenizers.tokenizer")
    patterns = load("week06_tokenizers.patterns")
    wordpiece = load("week06_tokenizers.wordpiece")
    unigram = load("week06_tokenizers.unigram")

    n_merges = vocab_size - 256
    if len(merges) < n_merges:
        merges = train.train_bpe(train_text, vocab_size, patterns.GPT4_SPLIT_PATTERN)
    ranks = {pair: 256 + rank for rank, (pair, _count) in enumerate(merges[:n_merges])}
    bpe = tokenizer.BPETokenizer(ranks, patterns.GPT4_SPLIT_PATTERN)
    vocab = train_wordpiece(train_text, vocab_size)
    pieces = unigram.train_unigram(train_text, vocab_size - 256)
    wp_ids = wordpiece.wordpiece_encode(test_text, vocab)
    with tempfile.TemporaryDirectory() as folder:
        sp = train_spm(train_text, vocab_size + 3, Path(folder))
    lines = test_text.splitlines()
    rows = [
        comparison_row(
            "BPE (w06.train)", 256 + len(ranks), bpe.encode_ordinary(test_text), test_text
        ),
        comparison_row(
            "WordPiece (HF-trained vocab, w06.wordpiece)",
            len(vocab),
            wp_ids,
            test_text,
            unknown=wp_ids.count(vocab["[UNK]"]),
        ),
        comparison_row(
            "Unigram (w06.unigram_train)",
            len(pieces) + 256,
            [p for line in lines for p in unigram.spm_encode(line, pieces)],
            test_text,
        ),
        comparison_row(
            "Unigram (sentencepiece)",
            sp.get_piece_size(),
            [p for line in lines for p in sp.encode(line, out_type=str)],
            test_text,
        ),
    ]
    header = [
        "| tokenizer | ids | tokens per word | bytes per token | vocabulary used | unknown |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    return "\n".join(header + rows) + "\n"


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
    # the same held-out text through BPE, WordPiece and Unigram at one vocabulary size
    comparison = compare(train_text, test_text, cfg.compare_vocab, merges)
    (out / "comparison.md").write_text(
        f"# BPE vs WordPiece vs Unigram, {cfg.compare_vocab} ids each ({len(test_text):,} "
        f"held-out characters of {source}; words split at whitespace)\n\n{comparison}",
        encoding="utf-8",
    )
    print(
        table if args.short else "\n".join(table.splitlines()[:12]),
        comp,
        "\n".join(speed),
        comparison,
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
