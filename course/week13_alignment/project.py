"""Week 13 project: align a small character GPT with DPO (your dpo_step, then trl's DPOTrainer) and
run the toy PPO task.

1. Toy RLHF: your rlhf_step teaches a tiny GPT to use the target tokens, with kl_coef 0.05 and a
   strong 1.0 for comparison -> ppo.md, ppo.png (reward and KL per update).
2. A base model: the week-05 GPT, trained here as a character model on prompt + chosen answer of
   the training pairs (a stand-in for the week-11 SFT model, which this week does not import).
3. DPO on the synthetic preference pairs (course/week13_alignment/data.py) with your dpo_step, then
   the same from the same base with trl's DPOTrainer built by your make_dpo_trainer -> dpo.md,
   dpo.png (loss and reward margin per step), answers.md (greedy answers to held-out prompts
   before and after, and held-out implicit-reward accuracy).
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

from course.week13_alignment.data import (
    EOS,
    char_vocab,
    hf_char_tokenizer,
    load_hh_rlhf,
    load_instruction_pairs,
)
from roadmap.impl import load
from roadmap.project import parser, record, setup
from solutions.week05_gpt.hf import export_hf, from_hf_state_dict
from solutions.week05_gpt.model import GPT, GPTConfig
from solutions.week11_sft.generate import generate_response


@dataclass
class ProjectConfig:
    block_size: int = 128  # prompt_chars + response_chars + 1 (EOS) must fit
    n_layer: int = 2  # the base character GPT
    n_head: int = 2
    n_embd: int = 96
    prompt_chars: int = 64  # keep the last characters of each prompt
    response_chars: int = 60  # keep the first characters of each response
    base_steps: int = 600  # next-token training of the base model on prompt + chosen
    base_lr: float = 2e-3
    batch_size: int = 16  # base training batch
    dpo_steps: int = 60  # DPO steps, ours and trl's each
    dpo_batch: int = 8  # preference pairs per DPO step
    dpo_lr: float = 3e-4
    beta: float = 0.1
    ppo_updates: int = 30  # toy RLHF updates per run
    ppo_batch: int = 64  # toy RLHF responses per update
    held_out: int = 40  # pairs kept out of training, for the accuracy and the answers
    answers: int = 4  # held-out prompts answered before / after
    seed: int = 1337


SHORT = ProjectConfig(
    block_size=48,
    n_layer=1,
    n_embd=32,
    prompt_chars=24,
    response_chars=20,
    base_steps=10,
    batch_size=4,
    dpo_steps=2,
    dpo_batch=2,
    ppo_updates=2,
    ppo_batch=16,
    held_out=4,
    answers=2,
)


def truncate(pairs: list[dict], cfg: ProjectConfig) -> list[dict]:
    """Cut prompts to their last prompt_chars and responses to their first response_chars."""
    out = []
    for p in pairs:
        c, r = p["chosen"][: cfg.response_chars], p["rejected"][: cfg.response_chars]
        if c != r:
            out.append({"prompt": p["prompt"][-cfg.prompt_chars :], "chosen": c, "rejected": r})
    return out


def encode_side(pairs, side, stoi, T):
    """(B, T) ids of prompt + response + EOS, right-padded with 0, and the response mask."""
    ids = torch.zeros(len(pairs), T, dtype=torch.long)
    mask = torch.zeros(len(pairs), T, dtype=torch.long)
    for b, p in enumerate(pairs):
        prompt = [stoi.get(ch, 0) for ch in p["prompt"]]
        resp = [stoi.get(ch, 0) for ch in p[side] + EOS]
        row = (prompt + resp)[:T]
        ids[b, : len(row)] = torch.tensor(row)
        mask[b, len(prompt) : len(row)] = 1
    return ids, mask


def make_batch(pairs, stoi, T):
    out = {}
    for side in ("chosen", "rejected"):
        out[f"{side}_ids"], out[f"{side}_mask"] = encode_side(pairs, side, stoi, T)
    return out


def train_base(pairs, stoi, cfg: ProjectConfig) -> GPT:
    """Next-token training on prompt + chosen + EOS (the stand-in for an SFT model)."""
    torch.manual_seed(cfg.seed)
    model = GPT(
        GPTConfig(
            block_size=cfg.block_size,
            vocab_size=len(stoi),
            n_layer=cfg.n_layer,
            n_head=cfg.n_head,
            n_embd=cfg.n_embd,
        )
    )
    ids, _ = encode_side(pairs, "chosen", stoi, cfg.block_size)
    targets = torch.full_like(ids, -100)
    targets[:, :-1] = torch.where(ids[:, 1:] > 0, ids[:, 1:], -100)
    opt = torch.optim.AdamW(model.parameters(), lr=cfg.base_lr, weight_decay=0.1)
    g = torch.Generator().manual_seed(cfg.seed)
    for step in range(cfg.base_steps):
        rows = torch.randint(0, len(pairs), (cfg.batch_size,), generator=g)
        _, loss = model(ids[rows], targets[rows])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if step % 100 == 0 or step == cfg.base_steps - 1:
            print(f"base step {step:4d} | loss {loss.item():.4f}")
    return model.eval()


@torch.no_grad()
def answer(model: GPT, prompt: str, chars: list[str], stoi: dict, n: int) -> str:
    """Greedy characters after the prompt, up to n or the EOS."""
    out = generate_response(model, [stoi.get(ch, 0) for ch in prompt], stoi[EOS], n)
    return "".join(chars[i] for i in out)


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


def run_trl(base: GPT, train, chars, cfg: ProjectConfig, work: Path):
    """DPO of the same base with trl's DPOTrainer (your make_dpo_trainer); returns (GPT, log)."""
    from datasets import Dataset
    from transformers import GPT2LMHeadModel

    trl_dpo = load("week13_alignment.trl_dpo")
    export_hf(base, work / "base")
    policy = GPT2LMHeadModel.from_pretrained(work / "base")
    reference = GPT2LMHeadModel.from_pretrained(work / "base")
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
    trainer = trl_dpo.make_dpo_trainer(
        policy, reference, hf_char_tokenizer(chars), Dataset.from_list(train), config
    )
    trainer.train()
    log = [row for row in trainer.state.log_history if "loss" in row and "rewards/margins" in row]
    aligned = copy.deepcopy(base)
    state = from_hf_state_dict(trainer.model.state_dict())
    aligned.load_state_dict(state, strict=False)
    return aligned.eval(), log


def main(argv: list[str] | None = None) -> int:
    p = parser(13, "DPO (yours and trl's) on a small character GPT, and the toy PPO task.")
    p.add_argument(
        "--data-file", type=Path, default=None, help="instruction JSON (default: the registry's)"
    )
    p.add_argument(
        "--hh-rlhf",
        action="store_true",
        help="use hh-rlhf harmless-base test pairs (offensive text by design) instead",
    )
    p.add_argument("--threads", type=int, default=1, help="torch threads")
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
    chars = char_vocab([p[k] for p in pairs for k in ("prompt", "chosen", "rejected")])
    stoi = {c: i for i, c in enumerate(chars)}
    T = cfg.block_size

    base = train_base(train, stoi, cfg)
    dpo = load("week13_alignment.dpo")
    logprobs = load("week13_alignment.logprobs")
    policy, reference = copy.deepcopy(base).train(), copy.deepcopy(base).requires_grad_(False)
    opt = torch.optim.AdamW(policy.parameters(), lr=cfg.dpo_lr, weight_decay=0.0)
    g = random.Random(cfg.seed)
    ours = []
    for step in range(cfg.dpo_steps):
        batch = make_batch(g.sample(train, min(cfg.dpo_batch, len(train))), stoi, T)
        stats = dpo.dpo_step(policy, reference, batch, opt, beta=cfg.beta)
        ours.append(stats)
        print(
            f"dpo step {step:3d} | loss {stats['loss']:.4f} | margin {stats['margin']:.4f} | "
            f"acc {stats['accuracy']:.2f}"
        )
    policy.eval()

    with tempfile.TemporaryDirectory() as work:
        trl_model, trl_log = run_trl(base, train, chars, cfg, Path(work))

    held_batch = make_batch(held, stoi, T)
    acc_ours, margin_ours = held_out_accuracy(policy, reference, held_batch, logprobs)
    acc_trl, margin_trl = held_out_accuracy(trl_model, reference, held_batch, logprobs)

    lines = [
        "# DPO on synthetic preference pairs",
        "",
        f"{len(train)} training pairs, {len(held)} held out; base: {cfg.n_layer}-layer character "
        f"GPT (C={cfg.n_embd}) trained {cfg.base_steps} steps on prompt + chosen; beta {cfg.beta}, "
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
        "Held-out implicit-reward accuracy (log-ratio to the base higher on chosen than rejected): "
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
    for p in held[: cfg.answers]:
        answers += [
            "```text",
            p["prompt"].rstrip("\n"),
            "```",
            "",
            f"- preferred: {json.dumps(p['chosen'])}",
            f"- base: {json.dumps(answer(base, p['prompt'], chars, stoi, cfg.response_chars))}",
            f"- DPO (ours): {json.dumps(answer(policy, p['prompt'], chars, stoi, cfg.response_chars))}",
            f"- DPO (trl): {json.dumps(answer(trl_model, p['prompt'], chars, stoi, cfg.response_chars))}",
            "",
        ]  # fmt: skip
    (out / "answers.md").write_text("\n".join(answers), encoding="utf-8")

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
