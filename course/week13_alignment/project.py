"""Week 13 project: align the base model with DPO (your dpo_step, then trl's DPOTrainer) and run the
toy PPO task.

1. Toy RLHF: your rlhf_step teaches a tiny GPT to use the target tokens, with kl_coef 0.05 and a
   strong 1.0 for comparison -> ppo.md, ppo.png (reward and KL per update). Its tiny policy is the
   task itself, not a language model.
2. The start of DPO: the base model from course/runs.py `load_run` (`--base DIR|ID`, by default the
   course base, course/base.py, built on first use by your week-06/09 code with --impl exercises,
   the tiny one with --short; a week-11 run or a GPT-2-family Hugging Face model works too),
   fine-tuned with the week-11 loop on prompt + chosen answer + end token of the training pairs:
   the SFT model that DPO starts from and compares with (its reference).
3. DPO on the synthetic preference pairs (course/week13_alignment/data.py) with your dpo_step, then
   the same from the same start with trl's DPOTrainer built by your make_dpo_trainer (on the start
   written as a run directory, which transformers loads as it is) -> dpo.md, dpo.png (loss and
   reward margin per step), answers.md (greedy answers to held-out prompts before and after, and
   held-out implicit-reward accuracy).
The model your dpo_step aligned is written as a run in --run-dir (default runs/week13_dpo/;
runs/week13_dpo-reference/ and -short/ for --impl solutions and --short, so those never overwrite
your full run).
Run: `python tracker.py project 13 [--short] [--impl solutions]`. `--hh-rlhf` uses the hh-rlhf
harmless test pairs instead (offensive text by design; see the handout).
"""

import copy
import json
import random
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from course.base import add_base_flag, resolve_base
from course.runs import load_run, save_run
from course.week13_alignment.data import load_hh_rlhf, load_instruction_pairs
from roadmap.impl import load
from roadmap.project import add_run_dir_flag, parser, record, run_dir, setup
from solutions.week05_gpt.hf import from_hf_state_dict
from solutions.week05_gpt.model import GPT
from solutions.week11_sft.generate import generate_response
from solutions.week11_sft.loop import evaluate, train_sft
from solutions.week11_sft.masking import IGNORE, collate


@dataclass
class ProjectConfig:
    prompt_chars: int = 64  # keep the last characters of each prompt
    response_chars: int = 60  # keep the first characters of each response
    sft_steps: int = 200  # week-11 loop on prompt + chosen, before DPO
    sft_lr: float = 1e-3  # constant, AdamW without weight decay
    batch_size: int = 16  # SFT batch
    dpo_steps: int = 60  # DPO steps, ours and trl's each
    dpo_batch: int = 8  # preference pairs per DPO step
    dpo_lr: float = 3e-4
    beta: float = 0.1
    ppo_updates: int = 30  # toy RLHF updates per run
    ppo_batch: int = 64  # toy RLHF responses per update
    held_out: int = 40  # pairs kept out of training, for the accuracy and the answers
    answers: int = 4  # held-out prompts answered before / after
    answer_tokens: int = 40  # the most tokens per greedy answer
    seed: int = 1337


SHORT = ProjectConfig(
    prompt_chars=24,
    response_chars=20,
    sft_steps=4,
    batch_size=4,
    dpo_steps=2,
    dpo_batch=2,
    ppo_updates=2,
    ppo_batch=16,
    held_out=4,
    answers=2,
    answer_tokens=8,
)


def truncate(pairs: list[dict], cfg: ProjectConfig) -> list[dict]:
    """Cut prompts to their last prompt_chars and responses to their first response_chars."""
    out = []
    for p in pairs:
        c, r = p["chosen"][: cfg.response_chars], p["rejected"][: cfg.response_chars]
        if c != r:
            out.append({"prompt": p["prompt"][-cfg.prompt_chars :], "chosen": c, "rejected": r})
    return out


def encode_pair_side(pair: dict, side: str, tok, end: int, T: int) -> tuple[list[int], int]:
    """(ids of prompt + response + end, cut to T; number of prompt ids) as trl's DPOTrainer does:
    prompt and response are encoded together, the response starts where that and the prompt's own
    ids part (BPE may merge across the boundary), the end token follows the response."""
    prompt = tok.encode(pair["prompt"])
    ids = (tok.encode(pair["prompt"] + pair[side]) + [end])[:T]
    n = 0
    while n < min(len(prompt), len(ids)) and prompt[n] == ids[n]:
        n += 1
    return ids, n


def make_batch(pairs, tok, end, T) -> dict[str, torch.Tensor]:
    """{side}_ids (B, L) int64: prompt + response + end, right-padded with 0, and {side}_mask
    (B, L) int64: 1 on the response and its end, for side chosen and rejected; L = the longest
    row of either side (at most T)."""
    rows = {
        side: [encode_pair_side(p, side, tok, end, T) for p in pairs]
        for side in ("chosen", "rejected")
    }
    L = max(len(ids) for side in rows.values() for ids, _ in side)
    out = {}
    for side, encoded in rows.items():
        ids = torch.zeros(len(pairs), L, dtype=torch.long)
        mask = torch.zeros(len(pairs), L, dtype=torch.long)
        for b, (row, n_prompt) in enumerate(encoded):
            ids[b, : len(row)] = torch.tensor(row)
            mask[b, n_prompt : len(row)] = 1
        out[f"{side}_ids"], out[f"{side}_mask"] = ids, mask
    return out


def sft_batches(pairs, tok, end, pad, T, batch_size) -> list[dict]:
    """Week-11 collate batches of prompt + chosen + end, labels on the answer and the end only."""
    examples = []
    for p in pairs:
        ids, n = encode_pair_side(p, "chosen", tok, end, T)
        examples.append((ids, [IGNORE] * n + ids[n:]))
    return [collate(examples[i : i + batch_size], pad) for i in range(0, len(examples), batch_size)]


def sft_start(model: GPT, train, held, tok, end, pad, cfg: ProjectConfig) -> dict:
    """Fine-tune `model` in place with the week-11 loop on prompt + chosen of the training pairs;
    returns the held-out answer loss before and after (the loop keeps the better of the two)."""
    T = model.config.block_size
    train_b = sft_batches(train, tok, end, pad, T, cfg.batch_size)
    held_b = sft_batches(held, tok, end, pad, T, cfg.batch_size)
    before = evaluate(model, held_b)
    torch.manual_seed(cfg.seed)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.sft_lr, weight_decay=0.0)
    hist = train_sft(
        model, opt, train_b, held_b, max_steps=cfg.sft_steps, eval_every=cfg.sft_steps, patience=1
    )
    after = evaluate(model, held_b)
    print(
        f"sft on prompt + chosen: {cfg.sft_steps} steps | held-out answer loss {before:.4f} -> {after:.4f}"
    )
    return {"sft_loss_before": before, "sft_loss": after, "sft_best_step": hist["best_step"]}


@torch.no_grad()
def answer(model: GPT, prompt: str, tok, end: int, n: int) -> str:
    """Greedy tokens after the prompt, up to n or the end token, as text."""
    return tok.decode(generate_response(model, tok.encode(prompt), end, n))


@torch.no_grad()
def held_out_accuracy(policy, reference, batch, logprobs) -> tuple[float, float]:
    """Implicit-reward accuracy (policy/reference log-ratio higher on chosen) and mean margin."""
    ratios = {}
    for side in ("chosen", "rejected"):
        ids, mask = batch[f"{side}_ids"], batch[f"{side}_mask"]
        ratios[side] = logprobs.sequence_logprobs(
            policy(ids)[0], ids, mask
        ) - logprobs.sequence_logprobs(reference(ids)[0], ids, mask)
    h = ratios["chosen"] - ratios["rejected"]
    return (h > 0).float().mean().item(), h.mean().item()


def run_ppo(cfg: ProjectConfig, out: Path) -> dict:
    toy = load("week13_alignment.toy_rlhf")
    runs = {}
    for kl_coef in (0.05, 1.0):
        print(f"--- toy RLHF, kl_coef {kl_coef}")
        runs[kl_coef] = toy.train_toy_rlhf(
            toy.ToyRLHFConfig(kl_coef=kl_coef, batch_size=cfg.ppo_batch), cfg.ppo_updates, log=True
        )
    lines = [
        "# Toy RLHF: PPO on a programmatic reward",
        "",
        "A 1-layer GPT over 8 tokens writes 8 tokens after the prompt token 0; the reward is the "
        "fraction of tokens 1 and 2 (0.25 for a uniform policy). KL: sampled "
        "sum of log(pi / pi_ref) per response, in nats.",
        "",
        "| update | reward (kl_coef 0.05) | KL (0.05) | reward (kl_coef 1.0) | KL (1.0) |",
        "|---:|---:|---:|---:|---:|",
    ]
    for i, (a, b) in enumerate(zip(runs[0.05], runs[1.0])):
        lines.append(
            f"| {i} | {a['reward']:.3f} | {a['kl']:.2f} | {b['reward']:.3f} | {b['kl']:.2f} |"
        )
    (out / "ppo.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    plot(
        out / "ppo.png",
        "Toy RLHF",
        [
            ("reward", {f"kl_coef {k}": [s["reward"] for s in h] for k, h in runs.items()}),
            ("KL to the reference (nats)", {f"kl_coef {k}": [s["kl"] for s in h] for k, h in runs.items()}),
        ],
        "update",
    )  # fmt: skip
    return runs


def plot(path: Path, title: str, panels, xlabel: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 3.5))
    for ax, (ylabel, series) in zip(axes, panels):
        for label, ys in series.items():
            ax.plot(range(len(ys)), ys, label=label)
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.legend()
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def run_trl(start: GPT, train, tok, cfg: ProjectConfig, work: Path, source: str):
    """DPO of the same start with trl's DPOTrainer (your make_dpo_trainer); returns (GPT, log).

    The start is written as a run directory: a GPT2LMHeadModel directory whose tokenizer
    transformers loads as it is (eos = the end token our batches use, pad = <PAD> where it exists).
    """
    from datasets import Dataset
    from transformers import AutoTokenizer, GPT2LMHeadModel

    trl_dpo = load("week13_alignment.trl_dpo")
    run = save_run(
        work / "start", start, tok, made_by="week 13 DPO project (trl's start)", base=source
    )
    policy = GPT2LMHeadModel.from_pretrained(run)
    reference = GPT2LMHeadModel.from_pretrained(run)
    config = trl_dpo.cpu_dpo_config(
        str(work / "trl"),
        beta=cfg.beta,
        learning_rate=cfg.dpo_lr,
        max_steps=cfg.dpo_steps,
        batch_size=cfg.dpo_batch,
        seed=cfg.seed,
    )
    config.disable_tqdm = True
    config.lr_scheduler_type = "constant"  # like our loop, so the two curves compare
    config.max_length = start.config.block_size  # cut as our batches are: the first T ids
    trainer = trl_dpo.make_dpo_trainer(
        policy, reference, AutoTokenizer.from_pretrained(run), Dataset.from_list(train), config
    )
    trainer.train()
    log = [row for row in trainer.state.log_history if "loss" in row and "rewards/margins" in row]
    aligned = copy.deepcopy(start)
    aligned.load_state_dict(from_hf_state_dict(trainer.model.state_dict()), strict=False)
    return aligned.eval(), log


def main(argv: list[str] | None = None) -> int:
    p = parser(13, "DPO (yours and trl's) on the base model, and the toy PPO task.")
    p.add_argument(
        "--data-file", type=Path, default=None, help="instruction JSON (default: the registry's)"
    )
    p.add_argument(
        "--hh-rlhf",
        action="store_true",
        help="use hh-rlhf harmless-base test pairs (offensive text by design) instead",
    )
    p.add_argument("--threads", type=int, default=1, help="torch threads")
    add_base_flag(p)
    add_run_dir_flag(p, "week13_dpo", "the model your dpo_step aligned")
    args = p.parse_args(argv)
    out = setup(13, args)
    torch.set_num_threads(args.threads)
    cfg = SHORT if args.short else ProjectConfig()
    start = time.perf_counter()

    runs = run_ppo(cfg, out)

    if args.hh_rlhf:
        print("Using hh-rlhf harmless-base test: it contains offensive text by design.")
        pairs = load_hh_rlhf(limit=600)
    else:
        pairs = load_instruction_pairs(args.data_file)
    pairs = truncate(pairs, cfg)
    random.Random(cfg.seed).shuffle(pairs)
    held, train = pairs[: cfg.held_out], pairs[cfg.held_out :]

    source = resolve_base(args.base, args.short)
    base, tok = load_run(source)
    T = base.config.block_size
    end = tok.eos_token_id  # <|im_end|> for a chat tokenizer, else <|endoftext|>: trl's eos too
    pad = tok.special_tokens.get("<PAD>", end)
    print(f"base: {source} | end token {tok.decode([end])!r}, context {T}")
    sft = sft_start(base, train, held, tok, end, pad, cfg)
    base.eval()

    dpo = load("week13_alignment.dpo")
    logprobs = load("week13_alignment.logprobs")
    policy, reference = copy.deepcopy(base).train(), copy.deepcopy(base).requires_grad_(False)
    opt = torch.optim.AdamW(policy.parameters(), lr=cfg.dpo_lr, weight_decay=0.0)
    g = random.Random(cfg.seed)
    ours = []
    for step in range(cfg.dpo_steps):
        batch = make_batch(g.sample(train, min(cfg.dpo_batch, len(train))), tok, end, T)
        stats = dpo.dpo_step(policy, reference, batch, opt, beta=cfg.beta)
        ours.append(stats)
        print(
            f"dpo step {step:3d} | loss {stats['loss']:.4f} | margin {stats['margin']:.4f} | "
            f"acc {stats['accuracy']:.2f}"
        )
    policy.eval()

    with tempfile.TemporaryDirectory() as work:
        trl_model, trl_log = run_trl(base, train, tok, cfg, Path(work), source)

    held_batch = make_batch(held, tok, end, T)
    acc_ours, margin_ours = held_out_accuracy(policy, reference, held_batch, logprobs)
    acc_trl, margin_trl = held_out_accuracy(trl_model, reference, held_batch, logprobs)

    lines = [
        "# DPO on synthetic preference pairs",
        "",
        f"{len(train)} training pairs, {len(held)} held out; start: the base {source} "
        f"fine-tuned {cfg.sft_steps} steps on prompt + chosen with the week-11 loop (held-out "
        f"answer loss {sft['sft_loss_before']:.4f} -> {sft['sft_loss']:.4f}); beta {cfg.beta}, "
        f"lr {cfg.dpo_lr}, {cfg.dpo_batch} pairs per step.",
        "",
        "| step | loss (ours) | margin (ours) | loss (trl) | margin (trl) |",
        "|---:|---:|---:|---:|---:|",
    ]
    for i, a in enumerate(ours):
        b = trl_log[i] if i < len(trl_log) else {}
        lines.append(
            f"| {i} | {a['loss']:.4f} | {a['margin']:.4f} | {b.get('loss', float('nan')):.4f} | "
            f"{b.get('rewards/margins', float('nan')):.4f} |"
        )
    lines += [
        "",
        "Held-out implicit-reward accuracy (log-ratio to the start higher on chosen than rejected): "
        f"ours {acc_ours:.2f} (mean margin {margin_ours:.3f}), trl {acc_trl:.2f} (mean margin "
        f"{margin_trl:.3f}).",
    ]
    (out / "dpo.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    plot(
        out / "dpo.png",
        "DPO",
        [
            ("loss", {"ours": [s["loss"] for s in ours], "trl": [r["loss"] for r in trl_log]}),
            ("reward margin", {"ours": [s["margin"] for s in ours], "trl": [r["rewards/margins"] for r in trl_log]}),
        ],
        "step",
    )  # fmt: skip

    answers = ["# Answers to held-out prompts, greedy, before and after DPO", ""]
    n = cfg.answer_tokens
    for p in held[: cfg.answers]:
        answers += [
            "```text",
            p["prompt"].rstrip("\n"),
            "```",
            "",
            f"- preferred: {json.dumps(p['chosen'])}",
            f"- start (SFT): {json.dumps(answer(base, p['prompt'], tok, end, n))}",
            f"- DPO (ours): {json.dumps(answer(policy, p['prompt'], tok, end, n))}",
            f"- DPO (trl): {json.dumps(answer(trl_model, p['prompt'], tok, end, n))}",
            "",
        ]  # fmt: skip
    (out / "answers.md").write_text("\n".join(answers), encoding="utf-8")
    run = save_run(
        run_dir(args),
        policy,
        tok,
        made_by="week 13 DPO project (your dpo_step)",
        base=source,
        metrics={
            **sft,
            "held_out_accuracy": acc_ours,
            "held_out_margin": margin_ours,
            "held_out_accuracy_trl": acc_trl,
            "held_out_margin_trl": margin_trl,
            "dpo_loss_first": ours[0]["loss"],
            "dpo_loss_last": ours[-1]["loss"],
        },
    )
    print(f"the model your dpo_step aligned is a run: {run}")

    r = runs[0.05]
    record(
        13,
        f"ppo reward {r[0]['reward']:.2f}->{r[-1]['reward']:.2f} kl {r[-1]['kl']:.2f} | "
        f"dpo loss {ours[0]['loss']:.3f}->{ours[-1]['loss']:.3f} held-out acc {acc_ours:.2f} | "
        f"trl loss {trl_log[0]['loss']:.3f}->{trl_log[-1]['loss']:.3f} held-out acc "
        f"{acc_trl:.2f} | {time.perf_counter() - start:.0f} s",
        out,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
