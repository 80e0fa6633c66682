"""Week 12 project: fine-tune the base model on instruction data three ways and compare the cost.

The base model and its tokenizer come from course/runs.py `load_run`: `--base DIR|ID`, by default
the course base (course/base.py: pre-trained by week 09's trainer on first use, by your own
week-06/09 code with --impl exercises, the tiny one with --short); a week-11 run
(`--base runs/week11_sft`) or any GPT-2-family Hugging Face model (`--base gpt2`, online) works too.
Copies of it are fine-tuned on Alpaca-style prompts (each answer ends with <|endoftext|>) with the
loss on the response only:
  full   every parameter trains (AdamW)
  lora   the learner's inject_lora (r=8, alpha=16) on c_attn, c_proj, c_fc; the rest frozen
  qlora  the learner's inject_qlora: the same LoRA on an NF4 4-bit frozen base
and compared on trainable vs total parameters, training-state memory (weights + gradients + AdamW
moments, counted from the tensors), the peak RSS growth while training (sampled), tokens/s, eval
loss on held-out records and the size of what must be saved (the adapter or the whole model).
Then the low-rank view (your lowrank.py): the singular values of the update full fine-tuning made
to each adapted weight, and the eval loss of the base plus that update truncated to rank r (the
Eckart-Young optimum in weight space, put in as LoRA layers by your lora_from_delta) next to the
LoRA trained at rank r, full fine-tuning and the untuned base.
Writes to the out folder (default reports/week12/): comparison.md, loss.png, samples.md,
lowrank.md, spectrum.png, lowrank.png; and the LoRA model, merged into its base (your
merge_and_unload), as a run in --run-dir (default runs/week12_lora/; runs/week12_lora-reference/ and
-short/ for --impl solutions and --short, so those never overwrite your full run).
Run: `python tracker.py project 12 [--short]` or `python -m course.week12_peft.project --impl
solutions`.
"""

import copy
import json
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from course.base import add_base_flag, resolve_base
from course.runs import load_run, save_run
from roadmap.impl import load
from roadmap.project import add_run_dir_flag, parser, record, run_dir, setup
from solutions.week11_sft.generate import generate_response

TARGETS = ["c_attn", "c_proj", "c_fc"]


@dataclass
class ProjectConfig:
    finetune_steps: int = 150  # per method
    batch_size: int = 8
    lr_full: float = 3e-4  # AdamW learning rate when every weight trains
    lr_lora: float = 2e-3  # LoRA / QLoRA learning rate (only A and B train)
    r: int = 8  # LoRA rank
    alpha: float = 16.0  # LoRA alpha (scaling alpha / r = 2)
    eval_records: int = 80  # held-out records for the eval loss
    eval_every: int = 25  # fine-tuning steps between eval points of the plot
    samples: int = 3  # held-out prompts answered per method in samples.md
    sample_tokens: int = 60  # the most tokens per greedy answer
    seed: int = 1337


SHORT = ProjectConfig(
    finetune_steps=4,
    batch_size=4,
    eval_records=6,
    eval_every=2,
    samples=1,
    sample_tokens=16,
)


def format_alpaca(record: dict) -> tuple[str, str]:
    """(prompt, response) in the Alpaca layout; the Input section only when the record has one."""
    prompt = f"### Instruction:\n{record['instruction']}\n\n"
    if record.get("input"):
        prompt += f"### Input:\n{record['input']}\n\n"
    return prompt + "### Response:\n", record["output"] + "\n"


def load_records(data_file: Path | None) -> list[dict]:
    if data_file is None:
        from course.data import dataset_path

        data_file = dataset_path("instruction")
    return json.loads(Path(data_file).read_text(encoding="utf-8"))


def encode_examples(records, tok, block_size: int) -> list[tuple[list[int], int]]:
    """(ids of prompt + response + <|endoftext|>, number of prompt ids) per record, cut to
    block_size + 1 ids; a record whose prompt alone fills that is left out (nothing to learn).
    The end token is trained with the response: the tuned model learns to stop."""
    end = tok.special_tokens["<|endoftext|>"]
    out = []
    for rec in records:
        prompt, response = format_alpaca(rec)
        ids = (tok.encode(prompt + response) + [end])[: block_size + 1]
        n_prompt = len(tok.encode(prompt))
        if n_prompt < len(ids):
            out.append((ids, n_prompt))
    return out


def make_batch(examples, rows: list[int], block_size: int):
    """x, y (B, T) int64, T = the longest example of the rows minus one (at most block_size);
    y = -100 on the prompt and on padding."""
    T = min(block_size, max(len(examples[i][0]) for i in rows) - 1)
    x = torch.zeros(len(rows), T, dtype=torch.long)
    y = torch.full((len(rows), T), -100, dtype=torch.long)
    for b, i in enumerate(rows):
        ids, n_prompt = examples[i]
        t = torch.tensor(ids)
        x[b, : len(ids) - 1] = t[:-1]
        y[b, : len(ids) - 1] = t[1:]
        y[b, : n_prompt - 1] = -100  # predict only what follows "### Response:\n"
    return x, y


class PeakRSS:
    """Samples the process's resident memory every 5 ms; .peak_mb is the growth above the start."""

    def __enter__(self):
        self.page = os.sysconf("SC_PAGE_SIZE")
        self.start = self.now()
        self.peak = self.start
        self.running = True
        self.thread = threading.Thread(target=self.loop, daemon=True)
        self.thread.start()
        return self

    def now(self) -> int:
        try:
            with open("/proc/self/statm") as f:
                return int(f.read().split()[1]) * self.page
        except OSError:  # not Linux: no measurement
            return 0

    def loop(self):
        while self.running:
            self.peak = max(self.peak, self.now())
            time.sleep(0.005)

    def __exit__(self, *exc):
        self.running = False
        self.thread.join()
        self.peak_mb = (max(self.peak, self.now()) - self.start) / 2**20


@torch.no_grad()
def eval_loss(model, examples, block_size: int) -> float:
    """Mean NLL per response token over `examples` (batches of 8, response only)."""
    model.eval()
    total, count = 0.0, 0
    for start in range(0, len(examples), 8):
        rows = list(range(start, min(start + 8, len(examples))))
        x, y = make_batch(examples, rows, block_size)
        _, loss = model(x, y)
        n = int((y != -100).sum())
        total += loss.item() * n
        count += n
    return total / max(count, 1)


def train(
    model,
    examples,
    cfg: ProjectConfig,
    steps: int,
    lr: float,
    eval_examples=None,
    log=None,
) -> dict:
    """AdamW on the trainable parameters, loss on the response only; returns tokens/s, memory and
    the eval curve."""
    block_size = model.config.block_size
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.0)
    g = torch.Generator().manual_seed(cfg.seed)
    curve = []
    tokens, seconds = 0, 0.0
    with PeakRSS() as rss:
        for step in range(1, steps + 1):
            model.train()
            rows = torch.randint(0, len(examples), (cfg.batch_size,), generator=g).tolist()
            x, y = make_batch(examples, rows, block_size)
            t0 = time.perf_counter()
            _, loss = model(x, y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            seconds += time.perf_counter() - t0
            tokens += sum(len(examples[i][0]) - 1 for i in rows)  # real positions, not padding
            if eval_examples is not None and (step % cfg.eval_every == 0 or step == steps):
                curve.append((step, eval_loss(model, eval_examples, block_size)))
                if log:
                    print(f"{log} step {step} | train {loss.item():.4f} | eval {curve[-1][1]:.4f}")
        unique = {t.data_ptr(): t for t in model.state_dict().values()}  # tied weights once
        state_bytes = sum(t.numel() * t.element_size() for t in unique.values())
        grad_bytes = sum(p.numel() * p.element_size() for p in params)
        adam_bytes = 2 * grad_bytes  # exp_avg and exp_avg_sq per trainable value
    return dict(
        tokens_per_s=tokens / seconds,
        curve=curve,
        state_mb=(state_bytes + grad_bytes + adam_bytes) / 2**20,
        rss_mb=rss.peak_mb,
    )


def saved_size(model, method: str, path: Path) -> int:
    """Bytes of what a run must keep: the adapter for LoRA/QLoRA, the whole state dict for full."""
    if method == "full":
        torch.save(model.state_dict(), path)
    else:
        load("week12_peft.inject").save_adapter(model, path)
    return path.stat().st_size


def sample(model, tok, record: dict, cfg: ProjectConfig) -> str:
    """The greedy answer to the record's prompt, up to <|endoftext|> or cfg.sample_tokens tokens."""
    prompt, _ = format_alpaca(record)
    end = tok.special_tokens["<|endoftext|>"]
    out = generate_response(model.eval(), tok.encode(prompt), end, cfg.sample_tokens)
    return tok.decode(out).strip()


def main(argv: list[str] | None = None) -> int:
    p = parser(12, "LoRA vs QLoRA vs full fine-tuning: parameters, memory, speed, eval loss.")
    p.add_argument(
        "--data-file",
        type=Path,
        default=None,
        help="instruction records as JSON (default: the instruction dataset)",
    )
    p.add_argument("--threads", type=int, default=1, help="torch threads")
    add_base_flag(p)
    add_run_dir_flag(p, "week12_lora", "the LoRA model, merged,")
    args = p.parse_args(argv)
    out = setup(12, args)
    torch.set_num_threads(args.threads)
    cfg = SHORT if args.short else ProjectConfig()
    inject = load("week12_peft.inject")
    qlora = load("week12_peft.qlora")
    lowrank = load("week12_peft.lowrank")
    lowrank.low_rank_error(torch.ones(1), 0)  # a stub fails now, not after the fine-tuning

    records = load_records(args.data_file)
    source = resolve_base(args.base, args.short)
    base, tok = load_run(source)
    block_size = base.config.block_size
    g = torch.Generator().manual_seed(cfg.seed)
    order = torch.randperm(len(records), generator=g).tolist()
    n_eval = min(cfg.eval_records, len(records) // 4)
    held_out = [records[i] for i in order[:n_eval]]
    train_records = [records[i] for i in order[n_eval:]]
    train_ex = encode_examples(train_records, tok, block_size)
    eval_ex = encode_examples(held_out, tok, block_size)
    start = time.perf_counter()
    base_loss = eval_loss(base, eval_ex, block_size)
    print(f"base: {source} | eval loss (responses) before fine-tuning {base_loss:.4f}")

    rows, curves, answers, tuned = [], {}, {}, {}
    for method in ("full", "lora", "qlora"):
        model = copy.deepcopy(base)
        torch.manual_seed(cfg.seed)
        if method == "lora":
            inject.inject_lora(model, TARGETS, r=cfg.r, alpha=cfg.alpha)
        elif method == "qlora":
            qlora.inject_qlora(model, TARGETS, r=cfg.r, alpha=cfg.alpha)
        trainable, total = inject.count_parameters(model)
        # QLoRA's base weights are 4-bit buffers, not parameters: count them as weights too
        total += sum(
            m.shape[0] * m.shape[1] + (0 if m.bias is None else m.bias.numel())
            for m in model.modules()
            if isinstance(m, qlora.QLoRALinear)
        )
        lr = cfg.lr_full if method == "full" else cfg.lr_lora
        stats = train(
            model,
            train_ex,
            cfg,
            cfg.finetune_steps,
            lr,
            eval_examples=eval_ex,
            log=method,
        )
        size = saved_size(model, method, out / f"{method}.bin")
        (out / f"{method}.bin").unlink()
        curves[method] = [(0, base_loss)] + stats["curve"]
        answers[method] = [sample(model, tok, rec, cfg) for rec in held_out[: cfg.samples]]
        rows.append(dict(method=method, trainable=trainable, total=total, size=size, **stats))
        tuned[method] = model
        if method == "lora":  # the week's model: the adapter merged into a plain GPT
            inject.merge_and_unload(model)
            run = save_run(
                run_dir(args),
                model,
                tok,
                made_by="week 12 LoRA project (merged)",
                base=source,
                metrics={"eval_loss_base": base_loss, "eval_loss": stats["curve"][-1][1]},
                lora={
                    "r": cfg.r,
                    "alpha": cfg.alpha,
                    "targets": TARGETS,
                    "steps": cfg.finetune_steps,
                },
            )

    by = {r["method"]: r for r in rows}
    losses = {method: by[method]["curve"][-1][1] for method in by}
    study = low_rank_study(base, tuned["full"], tuned["lora"], eval_ex, cfg)
    write_report(out, cfg, rows, base, source, base_loss, time.perf_counter() - start)
    plot_curves(out / "loss.png", curves)
    write_samples(out / "samples.md", held_out[: cfg.samples], answers)
    write_lowrank(out / "lowrank.md", study, cfg, base_loss, losses)
    plot_spectrum(out / "spectrum.png", study, cfg.r)
    plot_rank_curve(out / "lowrank.png", study, cfg.r, base_loss, losses)
    record(
        12,
        f"lora r={cfg.r}: {by['lora']['trainable'] / by['lora']['total']:.2%} trainable | eval "
        f"loss base {base_loss:.3f} full {losses['full']:.3f} lora {losses['lora']:.3f} qlora "
        f"{losses['qlora']:.3f} | svd r={cfg.r} of the full update {study['svd_loss']:.3f}",
        out,
    )
    print(f"the LoRA model, merged, is a run: {run}")
    return 0


def write_report(
    out: Path, cfg: ProjectConfig, rows, base, source: str, base_loss: float, seconds: float
) -> None:
    c = base.config
    lines = [
        "# LoRA vs QLoRA vs full fine-tuning (week-05 GPT, CPU)",
        "",
        f"Base: {source} ({c.n_layer} layers, C={c.n_embd}, context {c.block_size}, vocabulary "
        f"{c.vocab_size}); eval loss of the responses before fine-tuning: {base_loss:.4f}. "
        f"Fine-tuning: {cfg.finetune_steps} steps, batch "
        f"{cfg.batch_size}, loss on the response only, AdamW (lr {cfg.lr_full} full, {cfg.lr_lora} "
        f"LoRA/QLoRA), LoRA r={cfg.r}, alpha={cfg.alpha} on {', '.join(TARGETS)}. "
        f"{torch.get_num_threads()} torch thread(s); total {seconds:.0f} s.",
        "",
        "| method | trainable | total | trainable % | training state (MB) | peak RSS growth (MB) "
        "| tokens/s | eval loss | saved (KB) |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        lines.append(
            f"| {r['method']} | {r['trainable']:,} | {r['total']:,} | "
            f"{r['trainable'] / r['total']:.2%} | {r['state_mb']:.2f} | {r['rss_mb']:.1f} | "
            f"{r['tokens_per_s']:,.0f} | {r['curve'][-1][1]:.4f} | {r['size'] / 1024:,.1f} |"
        )
    lines += [
        "",
        "Training state = weights and buffers as stored (QLoRA's base in 4-bit codes + absmax) + "
        "gradients + two AdamW moments per trainable value. Peak RSS growth is sampled every 5 ms "
        "above the process's memory at the start of each method (allocator caching makes it rough). "
        "Saved = the adapter file (safetensors) for LoRA and QLoRA, the whole state dict for full.",
        "",
    ]
    (out / "comparison.md").write_text("\n".join(lines), encoding="utf-8")


def plot_curves(path: Path, curves: dict) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    for method, curve in curves.items():
        ax.plot([s for s, _ in curve], [v for _, v in curve], marker="o", label=method)
    ax.set_xlabel("fine-tuning step")
    ax.set_ylabel("eval loss (responses)")
    ax.set_title("LoRA vs QLoRA vs full fine-tuning")
    ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def low_rank_study(base, full, lora_model, examples, cfg: ProjectConfig) -> dict:
    """The update full fine-tuning made to each adapted weight, its spectrum, how close LoRA's
    update came to its best rank-r approximation, and the eval loss of the base plus that update
    truncated to each rank (the adapted weights only; every other weight as in the base).

    `lora_model` is the LoRA model merged into its base, so its weights minus the base's are
    scaling * B A (rank <= r)."""
    inject = load("week12_peft.inject")
    lowrank = load("week12_peft.lowrank")
    deltas, layers = {}, []
    for name in inject.find_targets(base, TARGETS):
        w = base.get_submodule(name).weight.detach()
        delta = full.get_submodule(name).weight.detach() - w  # (out, in)
        lora_delta = lora_model.get_submodule(name).weight.detach() - w  # (out, in), rank <= r
        s = torch.linalg.svdvals(delta)  # (k,), descending
        B, A = lowrank.low_rank_factors(delta, cfg.r)  # (out, r), (r, in)
        optimum = B @ A  # Eckart-Young: the closest rank-r matrix to delta
        left_out, _ = lowrank.low_rank_error(s, cfg.r)
        norm = float(torch.linalg.matrix_norm(delta)) or 1.0  # 1.0: an untouched weight
        layers.append(
            dict(
                name=name,
                shape=tuple(delta.shape),
                s=s.tolist(),
                norm=norm,
                energy_r=float(s[: cfg.r].square().sum() / s.square().sum()) if s.any() else 1.0,
                r90=lowrank.energy_rank(s, 0.9),
                svd_err=float(left_out) / norm,
                lora_err=float(torch.linalg.matrix_norm(delta - lora_delta)) / norm,
                lora_vs_svd=float(
                    torch.linalg.matrix_norm(lora_delta - optimum)
                    / torch.linalg.matrix_norm(optimum)
                ),
                lora_norm=float(torch.linalg.matrix_norm(lora_delta)) / norm,
            )
        )
        deltas[name] = delta
    k = min(min(d.shape) for d in deltas.values())
    ranks = sorted({2**i for i in range(k.bit_length()) if 2**i <= k} | {min(cfg.r, k), k})
    block_size = base.config.block_size
    curve = []
    for r in ranks:
        loss = eval_loss(truncated(base, deltas, r, cfg.alpha), examples, block_size)
        curve.append((r, loss))
        print(f"base + rank-{r} truncation of the full update | eval {loss:.4f}")
    # the spectrum of pure noise of the first layer's shape and norm: what "no structure" looks like
    g = torch.Generator().manual_seed(cfg.seed)
    noise = torch.linalg.svdvals(torch.randn(layers[0]["shape"], generator=g))
    return dict(
        layers=layers,
        curve=curve,
        k=k,
        svd_loss=dict(curve)[min(cfg.r, k)],
        full_rank_loss=dict(curve)[k],
        noise=noise.tolist(),
    )


def truncated(base, deltas: dict, r: int, alpha: float):
    """A copy of `base` whose adapted layers become your lora_from_delta(layer, delta, r, alpha):
    LoRALinear layers computing the base plus the rank-r truncated SVD of their update."""
    inject = load("week12_peft.inject")
    lowrank = load("week12_peft.lowrank")
    model = copy.deepcopy(base)
    for name, delta in deltas.items():
        layer = lowrank.lora_from_delta(model.get_submodule(name), delta, r, alpha)
        inject.set_module(model, name, layer)
    return model.eval()


def gain(loss: float, base_loss: float, full_loss: float) -> str:
    """The share of full fine-tuning's eval-loss drop that `loss` achieves."""
    drop = base_loss - full_loss
    return f"{(base_loss - loss) / drop:.0%}" if abs(drop) > 1e-9 else "-"


def write_lowrank(path: Path, study: dict, cfg: ProjectConfig, base_loss: float, losses) -> None:
    r, k, layers = cfg.r, study["k"], study["layers"]
    full = losses["full"]
    energies = sorted(layer["energy_r"] for layer in layers)
    r90s = sorted(layer["r90"] for layer in layers)
    lines = [
        f"# Low rank: how much of full fine-tuning's update fits in rank {r}",
        "",
        f"Full fine-tuning moved every adapted weight W ({', '.join(TARGETS)}: {len(layers)} "
        "matrices) by delta = W_full - W. Its best rank-r approximation (Eckart-Young: the "
        "truncated SVD, your low_rank_factors), put back into the base as LoRA layers (your "
        "lora_from_delta) with every other weight as in the base, is the closest any rank-r "
        "update of these layers comes to full fine-tuning's, in weight space (Frobenius and "
        "spectral norm). It is not a bound on the loss: a rank-r update trained for the loss (LoRA) "
        "can beat it, and full fine-tuning also moved the embeddings, LayerNorms and biases.",
        "",
        "| model | adapted weights | eval loss | share of full FT's loss drop |",
        "|---|---|---:|---:|",
        f"| untuned base | - | {base_loss:.4f} | 0% |",
        f"| LoRA trained at r={r} | rank {r} | {losses['lora']:.4f} | "
        f"{gain(losses['lora'], base_loss, full)} |",
        f"| base + SVD_{r}(full update) | rank {r} | {study['svd_loss']:.4f} | "
        f"{gain(study['svd_loss'], base_loss, full)} |",
        f"| base + full update of the adapted weights | rank {k} (all) | "
        f"{study['full_rank_loss']:.4f} | {gain(study['full_rank_loss'], base_loss, full)} |",
        f"| full fine-tuning | every weight | {full:.4f} | 100% |",
        "",
        f"Energy (squared Frobenius norm) of the full update in its top {r} singular values: "
        f"median {energies[len(energies) // 2]:.0%} over the {len(layers)} matrices (from "
        f"{energies[0]:.0%} to {energies[-1]:.0%}); rank holding 90% of it: median "
        f"{r90s[len(r90s) // 2]} of {k} (from {r90s[0]} to {r90s[-1]}).",
        "",
        "## Eval loss vs the rank of the truncated update (lowrank.png)",
        "",
        "| rank | eval loss | share of full FT's loss drop |",
        "|---:|---:|---:|",
    ]
    lines += [f"| {q} | {loss:.4f} | {gain(loss, base_loss, full)} |" for q, loss in study["curve"]]
    lines += [
        "",
        "## Per matrix (spectrum.png)",
        "",
        f"| matrix | shape | norm of delta | energy in top {r} | rank for 90% | SVD_{r} rel. error "
        f"| LoRA rel. error | LoRA / full norm | LoRA vs SVD_{r} |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for layer in layers:
        out, inp = layer["shape"]
        lines.append(
            f"| {layer['name']} | {out}x{inp} | {layer['norm']:.4f} | {layer['energy_r']:.1%} | "
            f"{layer['r90']} | {layer['svd_err']:.3f} | {layer['lora_err']:.3f} | "
            f"{layer['lora_norm']:.3f} | {layer['lora_vs_svd']:.3f} |"
        )
    lines += [
        "",
        f"SVD_{r} rel. error = ||delta - SVD_{r}(delta)||_F / ||delta||_F = sqrt(1 - energy in top "
        f"{r}) (your low_rank_error). LoRA rel. error = ||delta - delta_LoRA||_F / ||delta||_F with "
        f"delta_LoRA = (alpha / r) B A of the trained LoRA: never below the SVD one, since "
        f"delta_LoRA has rank <= {r}. LoRA / full norm = ||delta_LoRA||_F / ||delta||_F. LoRA vs "
        f"SVD_{r} = ||delta_LoRA - SVD_{r}(delta)||_F / ||SVD_{r}(delta)||_F: 0 if LoRA had found "
        "the optimum of the full update, 1 or more if it went elsewhere (LoRA trains with its own "
        f"learning rate, {cfg.lr_lora} against {cfg.lr_full}, from its own start).",
        "",
    ]
    path.write_text("\n".join(lines), encoding="utf-8")


def plot_spectrum(path: Path, study: dict, r: int) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    colors = {}  # one color per kind of matrix (attn.c_attn, attn.c_proj, mlp.c_fc, ...)
    fig, (ax_s, ax_e) = plt.subplots(1, 2, figsize=(11, 4))
    for layer in study["layers"]:
        s = torch.tensor(layer["s"])
        kind = ".".join(layer["name"].split(".")[-2:])
        label = None if kind in colors else kind
        colors.setdefault(kind, f"C{len(colors)}")
        ranks = range(1, len(s) + 1)
        ax_s.semilogy(ranks, s / s[0], color=colors[kind], alpha=0.7, label=label)
        energy = (s.square().cumsum(0) / s.square().sum()).tolist()
        ax_e.plot(ranks, energy, color=colors[kind], alpha=0.7, label=label)
    noise = torch.tensor(study["noise"])
    ranks = range(1, len(noise) + 1)
    ax_s.semilogy(ranks, noise / noise[0], "k--", label="Gaussian noise (same shape)")
    ax_e.plot(ranks, (noise.square().cumsum(0) / noise.square().sum()).tolist(), "k--")
    for ax in (ax_s, ax_e):
        ax.axvline(r, color="grey", linestyle=":", label=f"r = {r}" if ax is ax_s else None)
        ax.set_xlabel("index i of the singular value")
    ax_s.set_ylabel("s_i / s_1")
    ax_s.set_title("Spectrum of each full fine-tuning update")
    ax_e.set_ylabel("energy in the top i (sum s^2 / total)")
    ax_e.set_title("Cumulative energy")
    ax_s.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_rank_curve(path: Path, study: dict, r: int, base_loss: float, losses) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    ranks, values = zip(*study["curve"])
    ax.plot(ranks, values, marker="o", label="base + SVD_r(full update)")
    ax.scatter([r], [losses["lora"]], color="C3", zorder=3, label=f"LoRA trained at r={r}")
    ax.axhline(base_loss, color="grey", linestyle=":", label="untuned base")
    ax.axhline(losses["full"], color="k", linestyle="--", label="full fine-tuning")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("rank r of each adapted weight's update")
    ax.set_ylabel("eval loss (responses)")
    ax.set_title("Truncated full fine-tuning update vs LoRA")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def write_samples(path: Path, records, answers: dict) -> None:
    lines = ["# Greedy answers to held-out prompts", ""]
    for i, rec in enumerate(records):
        prompt, expected = format_alpaca(rec)
        lines += [
            f"## Prompt {i + 1}",
            "",
            "```text",
            prompt.rstrip(),
            "```",
            "",
            f"- expected: {expected.strip()!r}",
        ]
        lines += [f"- {method}: {answers[method][i]!r}" for method in answers]
        lines.append("")
    path.write_text("\n".join(lines), encoding="utf-8")


if __name__ == "__main__":
    raise SystemExit(main())
