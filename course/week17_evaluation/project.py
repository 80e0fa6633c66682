"""Week 17 project: an evaluation report for your models, with the same numbers through lm-eval.

For each model: WikiText-2 perplexity (sliding window), ARC-Easy and ARC-Challenge acc and acc_norm
(zero-shot log-likelihood scoring) with 95 % bootstrap intervals, the same accuracies through
lm-evaluation-harness for comparison, the safety battery (greedy answers, refusals, blocklist
flags), a bias probe (He vs She on the course templates, with a bootstrap interval), and a model
card. Models: the base ("gpt": `--base DIR|ID`, default the course base, built
on first use by the tree of `--impl`, the tiny one with `--short`; a run directory or a GPT-2-family
Hugging Face model works too), the same model with its weights rounded to int8 per row
("gpt-int8", the week-14 idea in its simplest form), and each `--model DIR` (repeatable): a run
directory (your week-11 SFT or week-13 DPO run), loaded with load_run, or any transformers
causal-LM directory with its tokenizer. A run directory is a GPT2LMHeadModel directory, so
lm-eval reads it as it is.
Writes to the out folder (default reports/week17/):
  report.md         one table per benchmark, lm-eval's column beside ours, the safety battery,
                    the bias probe
  scores.png        acc / acc_norm with their intervals, and perplexity, per model
  card_<model>.md   a model card per model
Run: `python tracker.py project 17` (your code) or `--impl solutions`; `--short` uses the week's
fixtures (20 questions, a paragraph of text) and the short base, and finishes in about a minute
with lm-eval, seconds with `--no-lm-eval`. Needs `LLM_DATA_MIRROR` or the network for the real
datasets.
"""

import json
import math
import time
import tomllib
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import torch

from course.base import add_base_flag, resolve_base
from course.data import dataset_path, fixture_path
from course.runs import is_run, load_run, read_card, save_run
from course.week17_evaluation import harness
from roadmap.impl import load
from roadmap.project import parser, record, setup
from solutions.week05_gpt.model import GPT


@dataclass
class ProjectConfig:
    ppl_chars: int = 40_000  # characters of WikiText-2 test for perplexity
    ppl_chunks: int = 10  # perplexity interval: bootstrap over this many chunks of the text
    questions: int = 200  # first questions of each ARC set
    num_fewshot: int = 0  # shots per prompt (lm-eval's column is zero-shot)
    resamples: int = 1000  # bootstrap resamples
    safety_tokens: int = 40  # greedy tokens per safety answer
    seed: int = 1337
    benchmarks: tuple[str, ...] = ("arc-easy", "arc-challenge")


SHORT = ProjectConfig(
    ppl_chars=2_000,
    ppl_chunks=4,
    questions=20,
    resamples=200,
    safety_tokens=8,
    benchmarks=("arc-tiny",),
)


@dataclass
class Evaluated:
    """One model behind the interfaces the evaluation needs."""

    name: str
    logits_fn: object  # (B, T) int64 -> (B, T, V) logits
    encode: object  # str -> list[int]
    decode: object  # list[int] -> str
    max_length: int  # longest input
    hf_dir: Path | None  # a transformers directory for lm-eval
    generate: object  # (1, T) int64, n -> (1, T + n) int64, greedy
    about: dict = field(default_factory=dict)  # data / training lines for the model card


def int8_copy(model: GPT) -> GPT:
    """A copy whose 2-D weights are rounded to int8 with one absmax scale per row, then stored
    back as floats (what an int8 kernel would compute, without the speed)."""
    q = GPT(model.config).eval()
    q.load_state_dict(model.state_dict())
    with torch.no_grad():
        for p in q.parameters():
            if p.dim() == 2:
                scale = p.abs().amax(dim=1, keepdim=True).clamp(min=1e-12) / 127
                p.copy_((p / scale).round().clamp(-127, 127) * scale)
    return q


def our_gpt(name: str, model: GPT, tok, hf_dir: Path | None, about: dict) -> Evaluated:
    """A week-05 GPT behind the common interface; hf_dir: its transformers directory for lm-eval."""

    def generate(idx, n):
        return model.generate(idx, n, temperature=0.0)

    return Evaluated(
        name,
        lambda x: model(x)[0],
        tok.encode,
        tok.decode,
        model.config.block_size,
        hf_dir,
        generate,
        about,
    )


def about_run(source: str) -> dict:
    """The model card's data and training lines for a run (its run.json, and the week-09 trainer's
    config.toml when there is one) or a Hugging Face model."""
    card = read_card(source)
    if not card:
        return {"data": f"See {source}.", "training": f"Loaded from {source}."}
    a, m = card.get("architecture", {}), card.get("metrics", {})
    origin = f"from base {card['base']}" if card.get("base") else "from scratch"
    training = (
        f"Made by {card.get('made_by', 'unknown')}, {origin}: week-05 GPT, {a.get('n_layer')} "
        f"layers, C={a.get('n_embd')}, block {a.get('block_size')}, "
        f"{a.get('parameters', 0) / 1e6:.2f}M parameters, {a.get('vocab_size')} token ids."
    )
    if "val_ppl" in m:
        training += f" Validation perplexity {m['val_ppl']:.2f} after {m.get('steps')} steps."
    data = f"See {source}/run.json."
    trainer = Path(source) / "config.toml"
    if trainer.is_file():
        c = tomllib.loads(trainer.read_text(encoding="utf-8"))
        held_out = ", ".join(c.get("val_files", [])) or f"{c.get('val_fraction')} of it"
        data = f"Trained on {', '.join(c.get('train_files', []))}; validation: {held_out}."
    return {"data": data, "training": training}


def run_model(name: str, source: str, out: Path, export: bool) -> tuple[Evaluated, GPT, object]:
    """A run directory or GPT-2-family model through load_run; lm-eval reads a directory as it is,
    anything else (a hub id) is written as a run under out/models/ first when lm-eval will run."""
    model, tok = load_run(source)
    hf_dir = Path(source) if Path(source).is_dir() else None
    if export and hf_dir is None:
        hf_dir = save_run(out / "models" / name, model, tok, made_by="week 17 project", base=source)
    return our_gpt(name, model, tok, hf_dir, about_run(source)), model, tok


def hf_model(model_dir: Path) -> Evaluated:
    """Any transformers causal LM directory with its tokenizer."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32).eval()
    c = model.config
    max_length = getattr(c, "n_positions", None) or getattr(c, "max_position_embeddings", 1024)

    def generate(idx, n):
        with torch.no_grad():
            return model.generate(
                idx,
                attention_mask=torch.ones_like(idx),
                max_new_tokens=n,
                do_sample=False,
                pad_token_id=tok.pad_token_id or tok.eos_token_id or 0,
            )

    return Evaluated(
        model_dir.name,
        lambda x: model(x).logits,
        lambda s: tok.encode(s, add_special_tokens=False),
        lambda ids: tok.decode(ids, skip_special_tokens=True),
        int(max_length),
        model_dir,
        generate,
        {"data": f"See {model_dir}.", "training": f"Loaded from {model_dir}."},
    )


def benchmark_docs(name: str, n: int) -> list[dict]:
    if name == "arc-tiny":
        return harness.read_jsonl(fixture_path("week17", "arc_tiny.jsonl"))[:n]
    return harness.read_jsonl(dataset_path(name))[:n]


def loglikelihoods(m: Evaluated, requests: list[tuple[str, str]]) -> list[float]:
    """log p(continuation | context) of model m for each (context, continuation) string pair, by
    the week's scorer; a context too long for the model is truncated on the left, as lm-eval."""
    mc = load("week17_evaluation.multiple_choice")
    encoded = []
    for context, continuation in requests:
        ctx, cont = mc.encode_pair(m.encode, context, continuation)
        encoded.append((ctx[-(m.max_length + 1 - len(cont)) :], cont))
    return mc.loglikelihoods(m.logits_fn, encoded)


def score_mc(m: Evaluated, docs: list[dict], cfg: ProjectConfig) -> dict[str, list[float]]:
    """Per-question acc and acc_norm of model m (contexts truncated on the left, as lm-eval)."""
    mc = load("week17_evaluation.multiple_choice")
    fewshot = load("week17_evaluation.fewshot")
    acc, acc_norm = [], []
    for i, doc in enumerate(docs):
        context = fewshot.build_prompt(doc, docs, cfg.num_fewshot, seed=cfg.seed + i)
        lls = loglikelihoods(m, [(context, " " + choice) for choice in doc["choices"]])
        scores = mc.mc_metrics(lls, doc["choices"], doc["gold"])
        acc.append(scores["acc"])
        acc_norm.append(scores["acc_norm"])
    return {"acc": acc, "acc_norm": acc_norm}


def bias_templates() -> list[tuple[str, str]]:
    """(tag, template) pairs of data/fixtures/week17/bias_templates.txt: the tag names the group
    ("he" or "she") the common stereotype links the sentence to."""
    text = fixture_path("week17", "bias_templates.txt").read_text(encoding="utf-8")
    rows = [line.split(" ", 1) for line in text.splitlines() if line.strip() and line[0] != "#"]
    return [(tag, template) for tag, template in rows]


def score_bias(m: Evaluated, cfg: ProjectConfig) -> dict:
    """The bias probe (w17.bias) of model m, He vs She, each continuation scored by the week's
    log-likelihood scorer (contexts truncated on the left to fit): over all templates, over those
    the stereotype ties to "he" and to "she", and the stereotype score, the he-typed mean gap minus
    the she-typed one. An offset (He likelier before any continuation) moves both subsets alike and
    cancels there; a stereotype makes the he-typed gaps larger."""
    bias = load("week17_evaluation.bias")
    score = partial(loglikelihoods, m)
    templates = bias_templates()
    result = {}
    for subset in ("all", "he", "she"):
        chosen = [t for tag, t in templates if subset in ("all", tag)]
        result[subset] = bias.bias_probe(
            score, chosen, "He", "She", n_resamples=cfg.resamples, seed=cfg.seed
        )
    result["stereotype"] = result["he"]["gap"] - result["she"]["gap"]
    return result


def score_ppl(m: Evaluated, text: str, cfg: ProjectConfig) -> dict:
    """Perplexity over the text, and a bootstrap interval over its chunks' mean NLLs."""
    ppl = load("week17_evaluation.perplexity")
    report = load("week17_evaluation.report")
    ids = torch.tensor(m.encode(text), dtype=torch.long)
    window, stride = m.max_length, m.max_length // 2
    total, count = ppl.sliding_window_nll(m.logits_fn, ids, window, stride)
    size = len(ids) // cfg.ppl_chunks
    chunk_nll = []
    for k in range(cfg.ppl_chunks):
        t, c = ppl.sliding_window_nll(m.logits_fn, ids[k * size : (k + 1) * size], window, stride)
        chunk_nll.append(t / c)
    _, low, high = report.bootstrap_ci(chunk_nll, n_resamples=cfg.resamples, seed=cfg.seed)
    return {
        "ppl": math.exp(total / count),
        "low": math.exp(low),
        "high": math.exp(high),
        "n": count,
    }


def answer_battery(m: Evaluated, cfg: ProjectConfig) -> list[str]:
    safety = load("week17_evaluation.safety")
    answers = []
    for item in safety.BATTERY:
        prompt = f"User: {item['prompt']}\nAssistant:"
        idx = torch.tensor([m.encode(prompt)[-(m.max_length - cfg.safety_tokens) :]])
        out = m.generate(idx, cfg.safety_tokens)
        answers.append(m.decode(out[0, idx.shape[1] :].tolist()))
    return answers


def lm_eval_scores(m: Evaluated, docs: list[dict], bench: str, out: Path) -> dict | None:
    """acc / acc_norm of lm-eval on the same questions (a local JSONL task), or None if absent."""
    try:
        import lm_eval  # noqa: F401
    except ImportError:
        return None
    task_dir = out / "tasks"
    data = task_dir / f"{bench}.jsonl"
    task_dir.mkdir(parents=True, exist_ok=True)
    data.write_text("".join(json.dumps(d) + "\n" for d in docs))
    name = "w17_" + bench.replace("-", "_")
    harness.write_task(task_dir, name, data)
    return harness.run_lm_eval(m.hf_dir, task_dir, name)


def plot(out: Path, rows: list[dict], benches: tuple[str, ...]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(benches) + 1, figsize=(4 * (len(benches) + 1), 3.5))
    names = [r["name"] for r in rows]
    for ax, bench in zip(axes, benches):
        for j, metric in enumerate(("acc", "acc_norm")):
            vals = [r[bench][metric] for r in rows]
            xs = [i + 0.38 * j for i in range(len(rows))]
            err = [[v[0] - v[1] for v in vals], [v[2] - v[0] for v in vals]]
            ax.bar(xs, [v[0] for v in vals], width=0.36, yerr=err, capsize=3, label=metric)
        ax.axhline(0.25, color="grey", lw=0.8, ls="--")  # chance for 4 choices
        ax.set_xticks([i + 0.19 for i in range(len(rows))], names, rotation=20)
        ax.set_title(bench)
        ax.legend(fontsize=8)
    ax = axes[-1]
    ppls = [r["ppl"] for r in rows]
    err = [[p["ppl"] - p["low"] for p in ppls], [p["high"] - p["ppl"] for p in ppls]]
    ax.bar(range(len(rows)), [p["ppl"] for p in ppls], yerr=err, capsize=3, color="tab:green")
    ax.set_xticks(range(len(rows)), names, rotation=20)
    ax.set_title("perplexity (lower is better)")
    fig.tight_layout()
    fig.savefig(out / "scores.png", dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    p = parser(17, "Perplexity, ARC, lm-eval, safety battery, a chart and model cards.")
    add_base_flag(p)
    p.add_argument(
        "--model",
        type=Path,
        action="append",
        default=[],
        help="a run directory or a transformers causal-LM directory (repeatable)",
    )
    p.add_argument("--no-lm-eval", action="store_true", help="skip the lm-eval comparison")
    args = p.parse_args(argv)
    out = setup(17, args)
    harness.offline()
    torch.set_num_threads(1)
    cfg = SHORT if args.short else ProjectConfig()
    start = time.perf_counter()
    safety = load("week17_evaluation.safety")
    report = load("week17_evaluation.report")

    if args.short:
        eval_text = fixture_path("week17", "tiny_text.txt").read_text() * 4
    else:
        eval_text = dataset_path("wikitext2-raw-test").read_text()
    eval_text = eval_text[: cfg.ppl_chars]
    export = not args.no_lm_eval
    base = resolve_base(args.base, args.short)
    gpt, base_model, tok = run_model("gpt", base, out, export)
    int8 = int8_copy(base_model)
    int8_dir = None
    if export:  # lm-eval reads a transformers directory: the rounded copy as a run
        int8_dir = save_run(
            out / "models" / "gpt-int8",
            int8,
            tok,
            made_by="week 17 project: the base's 2-D weights rounded to int8 per row",
            base=base,
        )
    about = dict(gpt.about, training=gpt.about["training"] + " Weights rounded to int8 per row.")
    models = [gpt, our_gpt("gpt-int8", int8, tok, int8_dir, about)]
    for d in args.model:
        models.append(run_model(d.name, str(d), out, export)[0] if is_run(d) else hf_model(d))

    rows, lines = [], []
    for m in models:
        print(f"evaluating {m.name}")
        row = {"name": m.name, "ppl": score_ppl(m, eval_text, cfg)}
        metrics = [
            {
                "name": "wikitext2 perplexity",
                "value": row["ppl"]["ppl"],
                "low": row["ppl"]["low"],
                "high": row["ppl"]["high"],
                "n": row["ppl"]["n"],
            }
        ]
        for bench in cfg.benchmarks:
            docs = benchmark_docs(bench, cfg.questions)
            scores = score_mc(m, docs, cfg)
            theirs = None if args.no_lm_eval else lm_eval_scores(m, docs, bench, out)
            row[bench] = {"lm_eval": theirs}
            for metric, values in scores.items():
                ci = report.bootstrap_ci(values, n_resamples=cfg.resamples, seed=cfg.seed)
                row[bench][metric] = ci
                metrics.append(
                    {
                        "name": f"{bench} {metric}",
                        "value": ci[0],
                        "low": ci[1],
                        "high": ci[2],
                        "n": len(values),
                    }
                )
        row["bias"] = score_bias(m, cfg)
        b = row["bias"]["all"]
        metrics.append(
            {
                "name": "bias gap He - She (nats)",
                "value": b["gap"],
                "low": b["low"],
                "high": b["high"],
                "n": b["n"],
            }
        )
        answers = answer_battery(m, cfg)
        row["safety"] = safety.safety_report(safety.BATTERY, answers)
        row["answers"] = answers
        rows.append(row)
        s = row["safety"]
        bad = sum(c["n"] - c["refused"] for k, c in s["by_category"].items() if k != "benign")
        harmful_n = sum(c["n"] for k, c in s["by_category"].items() if k != "benign")
        card = report.model_card(
            {
                "name": m.name,
                "description": "Evaluated by the week-17 project of LLM Roadmap.",
                **m.about,
                "metrics": metrics,
                "safety": (
                    f"Answered (did not refuse) {bad} of {harmful_n} harmful or jailbreak prompts "
                    f"of the course battery; {len(s['over_refusals'])} over-refusals of benign "
                    f"prompts; {len(s['flagged'])} answers flagged by the blocklist "
                    "(keyword classifier: indicative only)."
                ),
                "limitations": [
                    "A small model: ARC scores near chance (0.25) are expected; read the intervals.",
                    f"ARC scores on the first {cfg.questions} questions only; see the intervals.",
                    "Safety measured with keyword rules on 16 prompts, not a judge model.",
                    "Bias probed on one axis (He vs She) with 30 course templates only.",
                ],
            }
        )
        (out / f"card_{m.name}.md").write_text(card, encoding="utf-8")

    lines += [
        "# Evaluation report",
        "",
        f"Zero-shot log-likelihood scoring, {cfg.num_fewshot} shots, 95 % percentile-bootstrap "
        f"intervals ({cfg.resamples} resamples). Perplexity: sliding window of each model's "
        f"length, stride half of it, over {len(eval_text):,} characters; interval over "
        f"{cfg.ppl_chunks} chunks.",
        "",
        "| model | perplexity | 95 % CI | tokens |",
        "|---|---:|---:|---:|",
    ]
    for r in rows:
        q = r["ppl"]
        lines.append(
            f"| {r['name']} | {q['ppl']:.2f} | [{q['low']:.2f}, {q['high']:.2f}] | {q['n']} |"
        )
    for bench in cfg.benchmarks:
        lines += [
            "",
            f"## {bench} (first {cfg.questions} questions)",
            "",
            "| model | acc | 95 % CI | acc_norm | 95 % CI | lm-eval acc | lm-eval acc_norm |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        for r in rows:
            a, n, le = r[bench]["acc"], r[bench]["acc_norm"], r[bench]["lm_eval"]
            le_a = f"{le['acc']:.4f}" if le else "skipped"
            le_n = f"{le['acc_norm']:.4f}" if le else "skipped"
            lines.append(
                f"| {r['name']} | {a[0]:.4f} | [{a[1]:.3f}, {a[2]:.3f}] | {n[0]:.4f} | "
                f"[{n[1]:.3f}, {n[2]:.3f}] | {le_a} | {le_n} |"
            )
    lines += [
        "",
        "## Safety battery (16 prompts written for the course)",
        "",
        "| model | harmful refused | jailbreak refused | benign refused | flagged |",
        "|---|---:|---:|---:|---:|",
    ]
    for r in rows:
        c = r["safety"]["by_category"]
        lines.append(
            f"| {r['name']} | {c['harmful']['refused']}/{c['harmful']['n']} | "
            f"{c['jailbreak']['refused']}/{c['jailbreak']['n']} | "
            f"{c['benign']['refused']}/{c['benign']['n']} | {len(r['safety']['flagged'])} |"
        )
    n_templates = rows[0]["bias"]["all"]["n"]
    lines += [
        "",
        f"## Bias probe ({n_templates} course templates, He vs She)",
        "",
        "Gap: log p(continuation | ... He) - log p(continuation | ... She) in nats, the same "
        "continuation after each pronoun; positive means likelier after He. Templates are tagged "
        "by the group the common stereotype ties them to. Stereotype score: the he-typed mean gap "
        "minus the she-typed one (an overall offset cancels there).",
        "",
        "| model | templates | mean gap | 95 % CI | He preferred | interval excludes 0 |",
        "|---|---|---:|---:|---:|---|",
    ]
    for r in rows:
        for subset, label in (("all", "all"), ("he", "he-typed"), ("she", "she-typed")):
            b = r["bias"][subset]
            lines.append(
                f"| {r['name']} | {label} | {b['gap']:+.4f} | [{b['low']:+.3f}, {b['high']:+.3f}]"
                f" | {b['a_preferred']:.2f} | {'yes' if b['significant'] else 'no'} |"
            )
    lines += [""] + [
        f"- {r['name']}: stereotype score {r['bias']['stereotype']:+.4f} nats" for r in rows
    ]
    lines += ["", f"First answer of each model to {safety.BATTERY[0]['prompt']!r}:", ""]
    lines += [f"- {r['name']}: {r['answers'][0]!r}" for r in rows]
    lines += ["", "![scores](scores.png)", ""]
    (out / "report.md").write_text("\n".join(lines), encoding="utf-8")
    plot(out, rows, cfg.benchmarks)
    print("\n".join(lines))

    first = rows[0]
    bench = cfg.benchmarks[0]
    le = first[bench]["lm_eval"]
    agree = "skipped" if le is None else f"{le['acc']:.3f}"
    record(
        17,
        f"{first['name']} ppl {first['ppl']['ppl']:.1f} | {bench} acc "
        f"{first[bench]['acc'][0]:.3f} (lm-eval {agree}) acc_norm "
        f"{first[bench]['acc_norm'][0]:.3f} | {time.perf_counter() - start:.0f} s",
        out,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
