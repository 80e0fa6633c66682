"""Week 11 project: instruction-tune the base model with our SFT loop and with trl's SFTTrainer.

Pipeline (everything on CPU, seeded):
  1. the 1,100 Alpaca-style records of `instruction-data.json`, split 85/5/10 into train/val/test;
  2. the base model and its tokenizer, loaded with course/runs.py `load_run`: `--base DIR|ID`, by
     default the course base (course/base.py: pre-trained by week 09's trainer on first use, by your
     own week-06/09 code with --impl exercises, the tiny one with --short); any GPT-2-family
     Hugging Face model works too (`--base gpt2` on a machine that is online);
  3. `<PAD>`, `<|im_start|>`, `<|im_end|>` added where the base lacks them (w11.special_tokens),
     every record turned into a ChatML conversation with labels on the answer only (w11.masking);
     conversations longer than the base's context are dropped;
  4. fine-tuning twice from the same base weights: our loop (w11.sft_loop) and trl's SFTTrainer on
     the base written as a run directory (a GPT2LMHeadModel directory with its tokenizer; your
     chatml_template, w11.trl), with the same steps, batch size and lr;
  5. answers to 10 test instructions before and after (w11.generate), the response-only test loss of
     all three models, tokens/s of both loops, and the padding waste with and without packing.
Writes to the out folder (default reports/week11/): losses.png, answers.md, eval.md, packing.md,
config.json, metrics.txt; and the model our loop tuned as a run (course/runs.py) in --run-dir
(default runs/week11_sft/; runs/week11_sft-reference/ and -short/ for --impl solutions and
--short, so those never overwrite your full run): `llm-serve --model runs/week11_sft` chats with
it, weeks 12-13 can start from it with `--base runs/week11_sft`.
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

from course.base import add_base_flag, resolve_base
from course.runs import RunTokenizer, load_run, save_run
from roadmap.impl import load
from roadmap.project import add_run_dir_flag, parser, record, run_dir, setup
from solutions.week05_gpt.hf import from_hf_state_dict
from solutions.week05_gpt.model import GPT

CHAT_SPECIALS = ["<PAD>", "<|im_start|>", "<|im_end|>"]  # what a chat model needs beyond the base


@dataclass
class ProjectConfig:
    sft_steps: int = 200  # fine-tuning steps, the same for our loop and SFTTrainer
    sft_lr: float = 1e-3  # constant, AdamW without weight decay, in both
    batch_size: int = 8  # conversations per step
    eval_every: int = 25  # our loop evaluates on the validation split this often
    patience: int = 4  # and stops after this many evaluations without improvement
    answer_tokens: int = 60  # new tokens per answer (greedy)
    n_answers: int = 10  # test instructions shown before and after
    seed: int = 123


SHORT = ProjectConfig(
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


def chat_base(source: str, special) -> tuple[GPT, RunTokenizer]:
    """(model, tokenizer) of the base run `source`, with the chat specials added where it lacks them.

    `special` is week 11's special_tokens module: add_special_tokens keeps the specials the base
    already has (the course base has all of them) and gives a GPT-2-family base new ids and
    embedding rows (the mean of the old rows).
    """
    model, tok = load_run(source)
    special.add_special_tokens(tok, model, CHAT_SPECIALS)
    return model.train(), tok


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


def run_trl(base: GPT, tok, convs, cfg: ProjectConfig, workdir: Path, hf_sft, source: str):
    """SFTTrainer on `base` written as a run directory; returns (our GPT, losses, tokens/s).

    A run directory is a GPT2LMHeadModel directory with its tokenizer, so transformers loads both
    as they are; the chat template trl renders with is your chatml_template.
    """
    from transformers import AutoTokenizer, GPT2LMHeadModel

    run = save_run(
        workdir / "base", base, tok, made_by="week 11 SFT project (trl's start)", base=source
    )
    hf = GPT2LMHeadModel.from_pretrained(run)
    hf_tok = AutoTokenizer.from_pretrained(run)
    hf_tok.chat_template = hf_sft.chatml_template()
    config = hf_sft.sft_config(
        str(workdir / "trl"),
        max_steps=cfg.sft_steps,
        learning_rate=cfg.sft_lr,
        batch_size=cfg.batch_size,
        max_length=base.config.block_size,
        seed=cfg.seed,
    )
    config.dataloader_drop_last = False
    trainer = hf_sft.sft_trainer(hf, hf_tok, convs, config)
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


def padding_table(examples, cfg: ProjectConfig, pad_id: int, packing, block_size: int) -> list[str]:
    """Padding waste: pad every batch to its max vs pack into rows of block_size."""
    lengths = [len(ids) for ids, _ in examples]
    slots = sum(
        len(lengths[i : i + cfg.batch_size]) * max(lengths[i : i + cfg.batch_size])
        for i in range(0, len(lengths), cfg.batch_size)
    )
    packed = packing.pack(examples, block_size, pad_id)
    n_packed = packed["input_ids"].numel()
    real = sum(lengths)
    return [
        f"# Padding waste on the training conversations ({len(lengths)} examples, {real} tokens)",
        "",
        "| layout | rows x length | slots | padding |",
        "|---|---:|---:|---:|",
        f"| padded to each batch's max (batch {cfg.batch_size}) | - | {slots} | "
        f"{100 * (1 - real / slots):.1f} % |",
        f"| packed into rows of {block_size} | {packed['input_ids'].shape[0]} x "
        f"{block_size} | {n_packed} | {100 * (1 - real / n_packed):.1f} % |",
        "",
    ]


def main(argv: list[str] | None = None) -> int:
    p = parser(11, "Instruction-tune the base model: our SFT loop vs trl's SFTTrainer.")
    p.add_argument("--data", type=Path, default=None, help="instruction JSON (default: registry)")
    add_base_flag(p)
    add_run_dir_flag(p, "week11_sft", "the tuned model")
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
    source = resolve_base(args.base, args.short)
    base, tok = chat_base(source, special)
    block_size = base.config.block_size
    print(f"base: {source} | {sum(p.numel() for p in base.parameters()):,} parameters, "
          f"{len(tok)} token ids, context {block_size}")  # fmt: skip
    pad = tok.special_tokens["<PAD>"]

    train_c = conversations_of(train, tok, block_size, masking, formatting)
    val_c = conversations_of(val, tok, block_size, masking, formatting)
    test_c = conversations_of(test, tok, block_size, masking, formatting)
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
            trl_base, tok, [m for m, _ in train_c], cfg, Path(tmp), hf_sft, source
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
        f"| base (not tuned) | {base_loss:.4f} | 0 | - |",
        f"| our loop (best of val evals, step {hist['best_step']}) | {ours_loss:.4f} | "
        f"{steps_run} | {ours_tok_s:.0f} |",
        f"| trl SFTTrainer | {trl_loss:.4f} | {len(trl_losses)} | {trl_tok_s:.0f} |",
        "",
        f"Base: {source}. Same base weights, batch {cfg.batch_size}, constant lr {cfg.sft_lr}, AdamW without "
        f"weight decay; {n_real} real training tokens per epoch. Our loop stopped early: "
        f"{hist['stopped_early']}. Tokens/s count real (non-pad) tokens; ours includes its "
        f"{len(hist['eval_loss'])} evaluations on the val split, SFTTrainer's is its num_tokens / "
        "train_runtime (no evaluation). `python -m benchmarks.week11_sft` races the two alone.",
        "",
    ]
    (out / "eval.md").write_text("\n".join(eval_lines), encoding="utf-8")
    pad_lines = padding_table([e for _, e in train_c], cfg, pad, packing, block_size)
    (out / "packing.md").write_text("\n".join(pad_lines), encoding="utf-8")
    run = save_run(
        run_dir(args),
        base,
        tok,
        made_by="week 11 SFT project",
        base=source,
        metrics={
            "test_loss_base": base_loss,
            "test_loss": ours_loss,
            "test_loss_trl": trl_loss,
            "best_step": hist["best_step"],
            "steps": steps_run,
        },
    )
    print("\n".join(eval_lines + pad_lines))
    print(f"the tuned model (our loop) is a run: {run}")
    record(
        11,
        f"sft test loss base {base_loss:.3f} | ours {ours_loss:.3f} | trl {trl_loss:.3f} | "
        f"{ours_tok_s:.0f} vs {trl_tok_s:.0f} tok/s",
        out,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
