"""Week 11 benchmark: training tokens/s of our SFT loop vs trl's SFTTrainer on the same model and
data, and the padding waste with and without packing.

    python -m benchmarks.week11_sft [--impl solutions] [--steps 40] [--batch-size 8] [--threads 1]
                                    [--base DIR|ID]

Model: the project's start, the course base (course/base.py: 4 layers, C=128, block 128, BPE vocab
1024 + 4 specials; built on first use) or --base, with the chat specials added, on the training split of the instruction data (env LLM_DATA_MIRROR or `python tracker.py data fetch instruction`). Tokens/s
counts real (non-pad) tokens only, so padding shows up as lost speed. Rows:
  ours, padded      train_sft on collate batches (padded to each batch's max)
  ours, packed      the same steps on packed rows of block_size (forward_packed, response_loss)
  SFTTrainer        trl on the model exported to GPT2LMHeadModel, same batch size and lr
"""

import argparse
import copy
import os
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import torch

from course.base import add_base_flag, resolve_base
from course.week11_sft import project as proj
from roadmap.impl import TREES, load, set_tree


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--impl", choices=TREES, default="solutions")
    p.add_argument("--steps", type=int, default=40)
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--threads", type=int, default=1)
    add_base_flag(p)
    args = p.parse_args(argv)
    set_tree(args.impl)
    torch.set_num_threads(args.threads)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    formatting, special = load("week11_sft.formatting"), load("week11_sft.special_tokens")
    masking, packing = load("week11_sft.masking"), load("week11_sft.packing")
    loop, hf_sft = load("week11_sft.loop"), load("week11_sft.hf_sft")

    cfg = replace(proj.ProjectConfig(), sft_steps=args.steps, batch_size=args.batch_size)
    train, _, _ = proj.split_records(proj.load_records(None), cfg.seed)
    source = resolve_base(args.base, short=False)
    base, tok = proj.chat_base(source, special)
    block_size = base.config.block_size
    pad = tok.special_tokens["<PAD>"]
    convs = proj.conversations_of(train, tok, block_size, masking, formatting)
    examples = [e for _, e in convs]
    print(
        f"{len(examples)} training conversations, {sum(len(i) for i, _ in examples)} tokens; "
        f"{args.steps} steps of batch {args.batch_size}, {args.threads} thread(s)\n"
    )
    print("\n".join(proj.padding_table(examples, cfg, pad, packing, block_size)))

    rows = []
    # ours, padded: train_sft without evaluations in the way (eval_every > steps, one eval batch)
    model = copy.deepcopy(base)
    batches = proj.batches_of(examples, cfg.batch_size, pad, masking)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.sft_lr, weight_decay=0.0)
    t0 = time.perf_counter()
    loop.train_sft(
        model, opt, batches, batches[:1], max_steps=args.steps, eval_every=10**9, patience=1
    )
    seconds = time.perf_counter() - t0
    real = sum(int(batches[s % len(batches)]["attention_mask"].sum()) for s in range(args.steps))
    rows.append(("ours, padded to batch max", real, seconds))

    # ours, packed: the same number of real tokens per step on average, rows of block_size
    model = copy.deepcopy(base).train()
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.sft_lr, weight_decay=0.0)
    packed = packing.pack(examples, block_size, pad)
    per_row = (packed["doc_ids"] >= 0).sum(1)
    n_rows = max(1, round(real / args.steps / float(per_row.float().mean())))
    t0, real_packed = time.perf_counter(), 0
    for s in range(args.steps):
        sl = slice(
            (s * n_rows) % packed["input_ids"].size(0),
            (s * n_rows) % packed["input_ids"].size(0) + n_rows,
        )
        logits = packing.forward_packed(
            model, packed["input_ids"][sl], packed["position_ids"][sl], packed["doc_ids"][sl]
        )
        loss = masking.response_loss(logits, packed["labels"][sl])
        loss.backward()
        opt.step()
        opt.zero_grad()
        real_packed += int(per_row[sl].sum())
    rows.append(
        (f"ours, packed ({n_rows} rows of {block_size})", real_packed, time.perf_counter() - t0)
    )

    with tempfile.TemporaryDirectory() as tmp:
        _, _, trl_tok_s = proj.run_trl(
            base, tok, [m for m, _ in convs], cfg, Path(tmp), hf_sft, source
        )
    print("| loop | real tokens | seconds | real tokens/s |")
    print("|---|---:|---:|---:|")
    for name, n, sec in rows:
        print(f"| {name} | {n} | {sec:.1f} | {n / sec:.0f} |")
    print(f"| trl SFTTrainer, padded (num_tokens / train_runtime) | - | - | {trl_tok_s:.0f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
