"""Benchmark for week 06: incremental BPE training vs a naive recount trainer and HF tokenizers,
and encoding throughput vs tiktoken and HF tokenizers given the same ranks.

Rows: training vocab 512 on tiny Shakespeare and vocab 10,000 on the WikiText-2 raw test text
(yours, the naive trainer that recounts every pair after every merge, HF's BpeTrainer), then
encoding MB/s on the same texts. The naive trainer runs under a time cap; past it, its time is
extrapolated from the merges it finished (marked "est."; an overestimate, since later merges work
on shorter sequences). HF tokenizers may use every core; yours and tiktoken's encode use one.
Run: `LLM_DATA_MIRROR=DIR python -m benchmarks.week06_bpe [--impl exercises]`.
Goal from the curriculum: yours >= 50x faster than the naive trainer at vocab 512.
"""

import argparse
import os
import time
from collections import Counter
from dataclasses import dataclass

import regex

from course.week06_tokenizers.project import train_hf
from roadmap.impl import load, set_tree


@dataclass
class Config:
    impl: str = "solutions"  # tree whose trainer/encoder is measured
    naive_cap_s: float = 600.0  # naive trainer time cap at the small vocab (then extrapolate)
    naive_cap_large_s: float = 60.0  # the same at the large vocab (a full run takes hours)
    small_vocab: int = 512  # vocab on tiny Shakespeare
    large_vocab: int = 10_000  # vocab on WikiText-2


def naive_train(text: str, vocab_size: int, pattern: str, cap_s: float) -> tuple[float, int, int]:
    """Recount every pair of every pre-token after each merge (minbpe's RegexTokenizer.train).

    Returns:
        (seconds, merges done, merges asked); seconds is extrapolated if the cap was reached.
    """
    start = time.perf_counter()
    chunks = [list(w.encode("utf-8")) for w in regex.findall(pattern, text)]
    asked = vocab_size - 256
    for done in range(asked):
        counts = Counter()
        for c in chunks:
            counts.update(zip(c, c[1:]))
        if not counts:
            break
        pair = min(counts, key=lambda p: (-counts[p], p))
        new_id = 256 + done
        merged = []
        for c in chunks:
            out, i = [], 0
            while i < len(c):
                if i + 1 < len(c) and c[i] == pair[0] and c[i + 1] == pair[1]:
                    out.append(new_id)
                    i += 2
                else:
                    out.append(c[i])
                    i += 1
            merged.append(out)
        chunks = merged
        elapsed = time.perf_counter() - start
        if elapsed > cap_s:
            return elapsed / (done + 1) * asked, done + 1, asked
    return time.perf_counter() - start, asked, asked


def timed(fn, *args):
    start = time.perf_counter()
    result = fn(*args)
    return time.perf_counter() - start, result


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--impl", default=Config.impl, choices=("exercises", "solutions"))
    p.add_argument("--naive-cap-s", type=float, default=Config.naive_cap_s)
    p.add_argument("--naive-cap-large-s", type=float, default=Config.naive_cap_large_s)
    args = p.parse_args(argv)
    cfg = Config(args.impl, args.naive_cap_s, args.naive_cap_large_s)
    set_tree(cfg.impl)
    from course.data import dataset_path

    train = load("week06_tokenizers.train")
    tokenizer = load("week06_tokenizers.tokenizer")
    export = load("week06_tokenizers.export")
    pattern = load("week06_tokenizers.patterns").GPT4_SPLIT_PATTERN
    from tokenizers import Tokenizer

    texts = {
        "tinyshakespeare": (dataset_path("tinyshakespeare"), cfg.small_vocab, cfg.naive_cap_s),
        "wikitext2-raw-test": (
            dataset_path("wikitext2-raw-test"),
            cfg.large_vocab,
            cfg.naive_cap_large_s,
        ),
    }
    train_rows, encode_rows = [], []
    for name, (path, vocab, cap_s) in texts.items():
        text = path.read_text(encoding="utf-8")
        mb = len(text.encode("utf-8")) / 1e6
        mine_s, merges = timed(train.train_bpe, text, vocab, pattern)
        hf_s = train_hf(text, vocab, pattern)
        naive_s, done, asked = naive_train(text, vocab, pattern, cap_s)
        note = "" if done == asked else f" est. ({done}/{asked} merges)"
        train_rows.append(
            f"| {name} ({mb:.2f} MB) | {vocab} | {mine_s:.2f} | {naive_s:.1f}{note} | "
            f"{naive_s / mine_s:.0f}x | {hf_s:.2f} | {hf_s / mine_s:.2f} |"
        )
        ranks = {pair: 256 + r for r, (pair, _c) in enumerate(merges)}
        tok = tokenizer.BPETokenizer(ranks, pattern)
        mine_enc_s, ids = timed(tok.encode_ordinary, text)
        warm_s, _ = timed(tok.encode_ordinary, text)
        tik = export.to_tiktoken(tok)
        tik_s, tik_ids = timed(tik.encode_ordinary, text)
        hf = Tokenizer.from_str(export.to_hf_json(tok))
        hf_enc_s, hf_encoding = timed(hf.encode, text)
        hf_ids = hf_encoding.ids
        same = "yes" if ids == tik_ids == hf_ids else "NO"
        encode_rows.append(
            f"| {name} | {vocab} | {mb / mine_enc_s:.2f} | {mb / warm_s:.2f} | {mb / tik_s:.2f} | "
            f"{mine_enc_s / tik_s:.1f}x | {mb / hf_enc_s:.2f} | {same} |"
        )
    load_avg = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"# Week 06 BPE benchmark ({cfg.impl} tree; load average {load_avg}, {os.cpu_count()} cores)\n"
    )
    print("## Training (seconds)\n")
    print("| text | vocab | yours | naive recount | naive / yours | HF BpeTrainer | HF / yours |")
    print("|---|---|---|---|---|---|---|")
    print("\n".join(train_rows))
    print("\n## Encoding throughput (MB/s, GPT-4 split pattern, same ranks)\n")
    print(
        "| text | vocab | yours (cold cache) | yours (warm cache) | tiktoken | tiktoken / yours "
        "(cold) | HF tokenizers | same ids |"
    )
    print("|---|---|---|---|---|---|---|---|")
    print("\n".join(encode_rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
