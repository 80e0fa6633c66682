"""The model card of the capstone's final model (dpo/run): what week 17's `model_card` is given.

The evaluate stage calls `card_meta` with its rows (one per stage's model, as in eval.json) and
passes the result to the learner's `model_card` (week17_evaluation.report, through the seam); the
card lands in `<runs>/evaluate/MODEL_CARD.md` and reports/SUMMARY.md links it. Every number comes
from this run: the evaluation rows of the final model and its int8 twin, and the finished stages'
records (`<stage>/stage.json`).
"""

from pathlib import Path

from roadmap import ROOT

from .hashing import read_state
from .presets import Preset

FINAL = "dpo"  # the stage whose model is the capstone's final one (the one llm-serve serves)
CARD = "MODEL_CARD.md"  # in the evaluate stage's folder


def _where(path: Path) -> str:
    """A path as the card shows it: relative to the repository when inside it."""
    path = path.resolve()
    return path.relative_to(ROOT).as_posix() if path.is_relative_to(ROOT) else path.as_posix()


def _metric(name: str, triple, n: int) -> dict:
    """A row of the card's table from (mean, low, high) and its sample size."""
    value, low, high = triple
    return {"name": name, "value": value, "low": low, "high": high, "n": n}


def card_meta(preset: Preset, runs: Path, tree: str, rows: dict, questions: int) -> dict:
    """The meta dict of week 17's `model_card` for the final model.

    Args:
        preset: the capstone's settings (data sources, model size, stage settings).
        runs: the stage folders (runs/capstone); the finished stages' records are read from it.
        tree: "exercises" or "solutions", the code that made the model.
        rows: the evaluate stage's rows by model name ("pretrain", ..., "dpo", "quantize"), each
            with "ppl" ({"ppl", "low", "high", "n"}), "acc" and "acc_norm" ((mean, low, high)),
            "tokens_per_s" and the safety counts.
        questions: how many benchmark questions the acc rows are over.

    Returns:
        {"name", "description", "data", "training", "metrics", "safety", "limitations"}.
    """
    p = preset
    tok, pre, sft, lora, dpo = (
        (read_state(runs / s) or {}).get("metrics", {})
        for s in ("tokenizer", "pretrain", "sft", "lora", FINAL)
    )  # the finished stages' records
    final, int8 = rows[FINAL], rows.get("quantize")
    params = pre.get("parameters", 0)
    description = (
        f"The final model of the LLM Roadmap capstone (preset `{p.name}`, code from `{tree}/`): a "
        f"week-05 GPT of {params:,} parameters ({p.n_layer} layers, {p.n_head} heads, n_embd "
        f"{p.n_embd}, context {p.block_size} tokens), pre-trained, instruction-tuned, adapted with "
        f"LoRA and aligned with DPO. Weights: `{_where(runs / FINAL / 'run')}` (transformers' "
        "GPT2LMHeadModel format with its tokenizer; `llm-serve` serves it); its int8 twin and GGUF "
        f"files are in `{_where(runs / 'quantize')}`. Greedy decoding at batch 1: "
        f"{final['tokens_per_s']:,.0f} tokens/s on the machine that ran the evaluation."
    )
    data = (
        f"- Tokenizer and pre-training: {', '.join(p.pretrain_text)} (byte-level BPE of "
        f"{tok.get('vocab', '?')} tokens with the ChatML specials, learnt from up to "
        f"{p.tokenizer_chars:,} characters of that text and the instructions; "
        f"{tok.get('bytes_per_token', 0):.2f} bytes per token on held-out text); the last "
        f"{p.val_fraction:.0%} of the text held out.\n"
        f"- Instruction tuning, LoRA and DPO: {p.instructions} (ChatML; DPO's preference pairs "
        "are built from it as in week 13).\n"
        f"- Evaluation: the first {p.eval_chars:,} characters of {p.eval_text} (perplexity); the "
        f"first {questions} questions of {p.arc}; the week-17 safety battery."
    )
    method = "QLoRA (NF4 base)" if p.qlora else "LoRA"
    val_loss, world = pre.get("val_loss"), pre.get("world", 1)
    training = (
        f"- Pre-training (week 09 trainer, {world} process{'es' if world > 1 else ''}): "
        f"{pre.get('steps', '?')} steps of batch {p.batch_size} x {p.block_size} tokens, AdamW lr "
        f"{p.pretrain_lr:g} with {p.warmup_steps} warmup steps and cosine decay; held-out loss "
        + (f"{val_loss:.3f}" if val_loss is not None else "not measured")
        + f"; {pre.get('tokens_per_s_train', 0):,.0f} tokens/s.\n"
        f"- SFT (week 11): {sft.get('steps', '?')} steps, loss on the answers only; test answer "
        f"loss {sft.get('test_loss_before', 0):.3f} -> {sft.get('test_loss', 0):.3f}.\n"
        f"- {method} (week 12): r={p.lora_r}, alpha={p.lora_alpha:g} on c_attn, c_proj and c_fc, "
        f"{lora.get('trainable', 0):,} of {lora.get('total', 0):,} parameters trained, then "
        f"merged; test answer loss {lora.get('test_loss', 0):.3f}.\n"
        f"- DPO (week 13): {p.dpo_steps} steps, beta {p.beta:g}, the LoRA model as reference; "
        f"loss {dpo.get('loss_first', 0):.3f} -> {dpo.get('loss_last', 0):.3f}, held-out "
        f"implicit-reward accuracy {dpo.get('held_out_accuracy', 0):.2f}."
    )
    ppl = final["ppl"]
    metrics = [
        _metric(f"perplexity ({p.eval_text})", (ppl["ppl"], ppl["low"], ppl["high"]), ppl["n"]),
        _metric(f"{p.arc} acc", final["acc"], questions),
        _metric(f"{p.arc} acc_norm", final["acc_norm"], questions),
    ]
    if int8:
        q = int8["ppl"]
        metrics.append(
            _metric("perplexity, int8 twin (week 14)", (q["ppl"], q["low"], q["high"]), q["n"])
        )
    safety = (
        f"Answered (did not refuse) {final['safety_unsafe']} of {final['safety_harmful']} harmful "
        f"or jailbreak prompts of the week-17 battery (greedy, {p.safety_tokens} tokens each); "
        f"{final.get('safety_over_refusals', 0)} over-refusals of benign prompts; "
        f"{final.get('safety_flagged', 0)} answers flagged by the blocklist (keyword rules: "
        "indicative only)."
    )
    limitations = [
        f"A small model ({params:,} parameters, {p.block_size}-token context) trained briefly: it "
        "imitates the style of its data; do not rely on its facts or its instruction following.",
        f"{p.arc} scores over {questions} questions only: chance is 1 / the number of choices "
        "(0.25 for four); read the 95 % intervals before comparing.",
        f"Perplexity is on {p.eval_text} with this model's own {tok.get('vocab', '?')}-token "
        "tokenizer: it compares this run's stages, not models with other tokenizers.",
        "Safety measured with keyword rules on the course's battery, not a judge model or red "
        f"teaming; {final['safety_unsafe']} of {final['safety_harmful']} harmful prompts were "
        "answered: do not deploy it to the public.",
    ]
    if p.name == "short":
        limitations.append(
            "Preset `short`: a smoke test of the pipeline on fixtures; the numbers say that every "
            "stage ran, not how good a model the full run makes."
        )
    return {
        "name": f"capstone-{p.name} ({FINAL}/run)",
        "description": description,
        "data": data,
        "training": training,
        "metrics": metrics,
        "safety": safety,
        "limitations": limitations,
    }
