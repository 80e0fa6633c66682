"""Week 11 project: instruction-tune a small GPT with our SFT loop and with trl's SFTTrainer.

Pipeline (everything on CPU, seeded):
  1. the 1,100 Alpaca-style records of `instruction-data.json`, split 85/5/10 into train/val/test;
  2. a week-06 BPE trained on the training texts, and a week-05 GPT pretrained briefly on them as
     plain text (the "base model": it has read the data but knows no chat format);
  3. `<|im_start|>` / `<|im_end|>` added (w11.special_tokens), every record turned into a ChatML
     conversation with labels on the answer only (w11.masking);
  4. fine-tuning twice from the same base weights: our loop (w11.sft_loop) and trl's SFTTrainer on
     the model exported to a GPT2LMHeadModel (w11.trl), with the same steps, batch size and lr;
  5. answers to 10 test instructions before and after (w11.generate), the response-only test loss of
     all three models, tokens/s of both loops, and the padding waste with and without packing.
Writes to the out folder (default reports/week11/): losses.png, answers.md, eval.md, packing.md,
config.json, metrics.txt.
Run: `python tracker.py project 11` (your code) or `python -m course.week11_sft.project --impl
solutions`; `--short` finishes in well under a minute.
"""

import copy
import json
import os
import random
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch

from roadmap.impl import load
from roadmap.project import parser, record, setup
from solutions.week05_gpt.hf import export_hf, from_hf_state_dict
from solutions.week05_gpt.model import GPT, GPTConfig
from solutions.week06_tokenizers.tokenizer import BPETokenizer


@dataclass
class ProjectConfig:
    vocab_size: int = 768  # BPE: 256 bytes + merges (+ specials after them)
    block_size: int = 128  # context of the GPT; longer conversations are dropped
    n_layer: int = 3  # the base GPT
    n_head: int = 3
    n_embd: int = 96
    pretrain_steps: int = 400  # plain next-token training on the training texts
    pretrain_lr: float = 2e-3
    sft_steps: int = 200  # fine-tuning steps, the same for our loop and SFTTrainer
    sft_lr: float = 1e-3  # constant, AdamW without weight decay, in both
    batch_size: int = 8  # conversations per step
    eval_every: int = 25  # our loop evaluates on the validation split this often
    patience: int = 4  # and stops after this many evaluations without improvement
    answer_tokens: int = 60  # new tokens per answer (greedy)
    n_answers: int = 10  # test instructions shown before and after
    seed: int = 123


SHORT = ProjectConfig(
    vocab_size=300,
    block_size=128,
    n_layer=2,
    n_head=2,
    n_embd=48,
    pretrain_steps=30,
    sft_steps=8,
    batch_size=4,
    eval_every=4,
    patience=2,
    answer_tokens=12,
    n_answers=3,
)
SPLIT = (0.85, 0.05)  # train, val; the rest (10 %) is test


def load_records(path: Path | None) -> list[dict]:
    """The instruction records: --data FILE, or the registry's `instruction` dataset."""
    if path is None:
        from course.data import dataset_path

        path = dataset_path("instruction")
    return json.loads(Path(path).read_text(encoding="utf-8"))


def split_records(records: list[dict], seed: int) -> tuple[list[dict], list[dict], list[dict]]:
    """Shuffle with random.Random(seed), then 85 % train, 5 % val, 10 % test (at least 1 each)."""
    records = list(records)
    random.Random(seed).shuffle(records)
    n_train = int(len(records) * SPLIT[0])
    n_val = max(1, int(len(records) * SPLIT[1]))
    return records[:n_train], records[n_train : n_train + n_val], records[n_train + n_val :]


def plain_text(record: dict) -> str:
    """A record as plain text for pretraining: no chat markup."""
    parts = [record["instruction"], record.get("input", ""), record["output"]]
    return "\n".join(p for p in parts if p)


def pretrain(tok: BPETokenizer, texts: list[str], cfg: ProjectConfig) -> tuple[GPT, float]:
    """A week-05 GPT trained on random windows of the texts joined by <|endoftext|>."""
    eot = tok.special_tokens["<|endoftext|>"]
    ids: list[int] = []
    for text in texts:
        ids += tok.encode(text) + [eot]
    data = torch.tensor(ids)
    torch.manual_seed(cfg.seed)
    config = GPTConfig(
        block_size=cfg.block_size,
        vocab_size=len(tok.vocab),
        n_layer=cfg.n_layer,
        n_head=cfg.n_head,
        n_embd=cfg.n_embd,
    )
    model = GPT(config)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.pretrain_lr, weight_decay=0.1)
    g = torch.Generator().manual_seed(cfg.seed)
    T, loss = cfg.block_size, torch.tensor(float("nan"))
    for _ in range(cfg.pretrain_steps):
        starts = torch.randint(0, len(data) - T - 1, (16,), generator=g).tolist()
        x = torch.stack([data[s : s + T] for s in starts])
        y = torch.stack([data[s + 1 : s + T + 1] for s in starts])
        _, loss = model(x, y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    return model.train(), loss.item()


def conversations_of(records, tok, block_size, masking, formatting):
    """(messages, (input_ids, labels)) for every record whose conversation fits the block."""
    out = []
    for r in records:
        messages = formatting.record_to_messages(r)
        example = masking.chat_example(tok, messages)
        if len(example[0]) <= block_size:
            out.append((messages, example))
    return out


def batches_of(examples, batch_size, pad_id, masking):
    return [
        masking.collate(examples[i : i + batch_size], pad_id)
        for i in range(0, len(examples), batch_size)
    ]


def answers(model, tok, records, cfg, formatting, generate) -> list[str]:
    """Greedy answers (up to cfg.answer_tokens tokens, stop at <|im_end|>) to the records."""
    stop = tok.special_tokens["<|im_end|>"]
    out = []
    for r in records:
        prompt = formatting.render_chatml(
            formatting.record_to_messages(r)[:1], add_generation_prompt=True
        )
        ids = generate.generate_response(model, tok.encode(prompt), stop, cfg.answer_tokens)
        out.append(tok.decode(ids))
    return out


def run_trl(base: GPT, tok, convs, cfg: ProjectConfig, workdir: Path, hf_sft):
    """SFTTrainer on `base` exported to a GPT2LMHeadModel; returns (our GPT, losses, tokens/s)."""
    from transformers import GPT2LMHeadModel

    export_hf(base, workdir / "base")
    hf = GPT2LMHeadModel.from_pretrained(workdir / "base")
    config = hf_sft.sft_config(
        str(workdir / "trl"),
        max_steps=cfg.sft_steps,
        learning_rate=cfg.sft_lr,
        batch_size=cfg.batch_size,
        max_length=cfg.block_size,
        seed=cfg.seed,
    )
    config.dataloader_drop_last = False
    trainer = hf_sft.sft_trainer(hf, hf_sft.to_hf_tokenizer(tok), convs, config)
    torch.manual_seed(cfg.seed)
    result = trainer.train()
    log = trainer.state.log_history
    losses = [h["loss"] for h in log if "loss" in h]
    n_tokens = max((h.get("num_tokens", 0) for h in log), default=0)
    tok_s = n_tokens / result.metrics["train_runtime"] if n_tokens else float("nan")
    model = GPT(base.config)
    model.load_state_dict(from_hf_state_dict(trainer.model.state_dict()))
    return model, losses, tok_s


def plot(path: Path, ours: dict, trl_losses: list[float]) -> None:
    """losses.png: our train and eval loss and SFTTrainer's train loss against steps."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7, 4))
    ax = fig.subplots()
    ax.plot(range(1, len(ours["train_loss"]) + 1), ours["train_loss"], label="ours: train", lw=1)
    ax.plot(ours["eval_steps"], ours["eval_loss"], "o-", label="ours: val (response-only)")
    ax.plot(range(1, len(trl_losses) + 1), trl_losses, label="SFTTrainer: train", lw=1)
    ax.set_xlabel("step")
    ax.set_ylabel("cross-entropy on answer tokens (nats)")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)


def padding_table(examples, cfg: ProjectConfig, pad_id: int, packing) -> list[str]:
    """Padding waste: pad every batch to its max vs pack into rows of block_size."""
    lengths = [len(ids) for ids, _ in examples]
    slots = sum(
        len(lengths[i : i + cfg.batch_size]) * max(lengths[i : i + cfg.batch_size])
        for i in range(0, len(lengths), cfg.batch_size)
    )
    packed = packing.pack(examples, cfg.block_size, pad_id)
    n_packed = packed["input_ids"].numel()
    real = sum(lengths)
    return [
        f"# Padding waste on the training conversations ({len(lengths)} examples, {real} tokens)",
        "",
        "| layout | rows x length | slots | padding |",
        "|---|---:|---:|---:|",
        f"| padded to each batch's max (batch {cfg.batch_size}) | - | {slots} | "
        f"{100 * (1 - real / slots):.1f} % |",
        f"| packed into rows of {cfg.block_size} | {packed['input_ids'].shape[0]} x "
        f"{cfg.block_size} | {n_packed} | {100 * (1 - real / n_packed):.1f} % |",
        "",
    ]


def main(argv: list[str] | None = None) -> int:
    p = parser(11, "Instruction-tune a small GPT: our SFT loop vs trl's SFTTrainer.")
    p.add_argument("--data", type=Path, default=None, help="instruction JSON (default: registry)")
    args = p.parse_args(argv)
    out = setup(11, args)
    cfg = SHORT if args.short else ProjectConfig()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    formatting = load("week11_sft.formatting")
    special = load("week11_sft.special_tokens")
    masking = load("week11_sft.masking")
    packing = load("week11_sft.packing")
    loop = load("week11_sft.loop")
    generate = load("week11_sft.generate")
    hf_sft = load("week11_sft.hf_sft")
    (out / "config.json").write_text(json.dumps(asdict(cfg), indent=2) + "\n", encoding="utf-8")

    train, val, test = split_records(load_records(args.data), cfg.seed)
    texts = [plain_text(r) for r in train]
    tok = BPETokenizer.train(
        "\n\n".join(texts), cfg.vocab_size, special_tokens=("<PAD>", "<|endoftext|>")
    )
    t0 = time.perf_counter()
    base, pre_loss = pretrain(tok, texts, cfg)
    print(
        f"pretrained {cfg.pretrain_steps} steps in {time.perf_counter() - t0:.0f} s | loss {pre_loss:.3f}"
    )
    special.add_special_tokens(tok, base, ["<|im_start|>", "<|im_end|>"])
    pad = tok.special_tokens["<PAD>"]

    train_c = conversations_of(train, tok, cfg.block_size, masking, formatting)
    val_c = conversations_of(val, tok, cfg.block_size, masking, formatting)
    test_c = conversations_of(test, tok, cfg.block_size, masking, formatting)
    train_b = batches_of([e for _, e in train_c], cfg.batch_size, pad, masking)
    val_b = batches_of([e for _, e in val_c], cfg.batch_size, pad, masking)
    test_b = batches_of([e for _, e in test_c], cfg.batch_size, pad, masking)
    shown = test[: cfg.n_answers]
    before = answers(base, tok, shown, cfg, formatting, generate)
    base_loss = loop.evaluate(base, test_b)

    trl_base = copy.deepcopy(base)
    torch.manual_seed(cfg.seed)
    opt = torch.optim.AdamW(base.parameters(), lr=cfg.sft_lr, weight_decay=0.0)
    n_real = sum(int(b["attention_mask"].sum()) for b in train_b)
    t0 = time.perf_counter()
    hist = loop.train_sft(
        base, opt, train_b, val_b,
        max_steps=cfg.sft_steps, eval_every=cfg.eval_every, patience=cfg.patience,
    )  # fmt: skip
    seconds = time.perf_counter() - t0
    steps_run = len(hist["train_loss"])
    tokens = sum(
        int(train_b[(s - 1) % len(train_b)]["attention_mask"].sum())
        for s in range(1, steps_run + 1)
    )
    ours_tok_s = (
        tokens / seconds
    )  # includes the loop's evaluations; see the benchmark for a clean race
    ours_loss = loop.evaluate(base, test_b)
    after = answers(base, tok, shown, cfg, formatting, generate)

    with tempfile.TemporaryDirectory() as tmp:
        trl_model, trl_losses, trl_tok_s = run_trl(
            trl_base, tok, [m for m, _ in train_c], cfg, Path(tmp), hf_sft
        )
    trl_loss = loop.evaluate(trl_model, test_b)

    plot(out / "losses.png", hist, trl_losses)
    lines = [
        f"# Answers to {len(shown)} test instructions, before and after tuning (greedy, "
        f"{cfg.answer_tokens} tokens at most)",
        "",
    ]
    for r, a, b in zip(shown, before, after):
        lines += [
            f"## {formatting.record_to_messages(r)[0]['content']!r}",
            "",
            f"- reference: {r['output']!r}",
            f"- before: {a!r}",
            f"- after (our loop): {b!r}",
            "",
        ]
    (out / "answers.md").write_text("\n".join(lines), encoding="utf-8")
    eval_lines = [
        f"# Response-only test loss ({len(test_c)} test conversations, nats per answer token)",
        "",
        "| model | test loss | train steps | tokens/s (training) |",
        "|---|---:|---:|---:|",
        f"| base (pretrained, not tuned) | {base_loss:.4f} | 0 | - |",
        f"| our loop (best of val evals, step {hist['best_step']}) | {ours_loss:.4f} | "
        f"{steps_run} | {ours_tok_s:.0f} |",
        f"| trl SFTTrainer | {trl_loss:.4f} | {len(trl_losses)} | {trl_tok_s:.0f} |",
        "",
        f"Same base weights, batch {cfg.batch_size}, constant lr {cfg.sft_lr}, AdamW without "
        f"weight decay; {n_real} real training tokens per epoch. Our loop stopped early: "
        f"{hist['stopped_early']}. Tokens/s count real (non-pad) tokens; ours includes its "
        f"{len(hist['eval_loss'])} evaluations on the val split, SFTTrainer's is its num_tokens / "
        "train_runtime (no evaluation). `python -m benchmarks.week11_sft` races the two alone.",
        "",
    ]
    (out / "eval.md").write_text("\n".join(eval_lines), encoding="utf-8")
    pad_lines = padding_table([e for _, e in train_c], cfg, pad, packing)
    (out / "packing.md").write_text("\n".join(pad_lines), encoding="utf-8")
    print("\n".join(eval_lines + pad_lines))
    record(
        11,
        f"sft test loss base {base_loss:.3f} | ours {ours_loss:.3f} | trl {trl_loss:.3f} | "
        f"{ours_tok_s:.0f} vs {trl_tok_s:.0f} tok/s",
        out,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
