"""The nine stages of the capstone, each a function `run(ctx) -> metrics` on the week's own code.

One model goes through all of them: a week-06 BPE (with the chat specials from the start), a
week-05 GPT pre-trained by the week-09 trainer, instruction-tuned by the week-11 loop, adapted with
week-12 LoRA (saved as a peft adapter), aligned with week-13 DPO, quantised and exported to GGUF
with week-14 code, evaluated with week-17 code (whose model_card writes the final model's card),
served by `llm-serve`'s own build (week 18 on week 15's engine); week 16 indexes the instruction
data for retrieval. Every model stage writes a run (`<stage>/run/`, course/runs.py: a
GPT2LMHeadModel directory with the tokenizer, its ChatML template and a card naming the stage it
started from) and the next stage reads it with load_run: one format from pre-training to serving.
The learner's code comes through the seam (`--impl`).
"""

import copy
import json
import math
import os
import random
import signal
import socket
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from course.runs import RunTokenizer, load_run, save_run, write_tokenizer
from roadmap import ROOT
from roadmap.impl import load

from . import card
from .presets import PROMPTS, Preset

SPECIALS = ("<|endoftext|>", "<PAD>", "<|im_start|>", "<|im_end|>")
TARGETS = ["c_attn", "c_proj", "c_fc"]  # LoRA on every matmul of the blocks


@dataclass
class Context:
    preset: Preset
    runs: Path  # runs/capstone (or --out)
    tree: str  # "exercises" or "solutions"
    log: object  # str -> None
    resume: bool = False  # continue an interrupted pre-training from its checkpoint
    halt_in: str = ""  # testing: SIGKILL the process in the middle of this stage

    def dir(self, stage: str) -> Path:
        return self.runs / stage

    def maybe_halt(self, stage: str) -> None:
        """Testing: die here (no clean-up, no stage.json), as a crash or a kill -9 would."""
        if self.halt_in == stage:
            self.log(f"--halt-in {stage}: killing the process in the middle of the stage")
            sys.stdout.flush()
            os.kill(os.getpid(), signal.SIGKILL)


# --- helpers -----------------------------------------------------------------------------------
def source_path(source: str) -> Path:
    """A dataset name of the course.data registry, or a file (relative to the repository root)."""
    from course.data import DATASETS, dataset_path

    if source in DATASETS:
        return dataset_path(source)
    path = Path(source)
    return path if path.is_absolute() else ROOT / path


def read_text(sources: list[str]) -> str:
    return "\n".join(source_path(s).read_text(encoding="utf-8") for s in sources)


def tokenizer_file(ctx: Context) -> Path:
    return ctx.dir("tokenizer") / "tokenizer.json"


def load_tokenizer(ctx: Context) -> RunTokenizer:
    """The stage-1 tokenizer (your week-06 BPE, written as tokenizer.json)."""
    return RunTokenizer.from_file(tokenizer_file(ctx))


def run_dir(ctx: Context, stage: str) -> Path:
    """The run a model stage writes: <stage>/run."""
    return ctx.dir(stage) / "run"


def load_gpt(ctx: Context, stage: str):
    """The week-05 GPT (eval mode) of a stage's run."""
    return load_run(run_dir(ctx, stage))[0]


def save_model(ctx: Context, stage: str, model, tok, base: str | None, metrics: dict) -> int:
    """The stage's run (course/runs.py); returns the bytes of its weights."""
    folder = save_run(
        run_dir(ctx, stage), model, tok, made_by=f"capstone {stage}", base=base, metrics=metrics
    )
    return dir_bytes(folder, "*.safetensors")


def dir_bytes(folder: Path, pattern: str = "*") -> int:
    return sum(p.stat().st_size for p in folder.glob(pattern) if p.is_file())


def instruction_splits(p: Preset):
    """(train, val, test) records, split as the week-11 project does."""
    from course.week11_sft.project import split_records

    records = json.loads(source_path(p.instructions).read_text(encoding="utf-8"))
    return split_records(records, p.seed)


def chat_batches(tok, records, p: Preset, batch_size: int):
    """Week-11 collate batches of the records as ChatML conversations (labels on the answers)."""
    from course.week11_sft.project import batches_of, conversations_of

    formatting, masking = load("week11_sft.formatting"), load("week11_sft.masking")
    convs = conversations_of(records, tok, p.block_size, masking, formatting)
    batches = batches_of([e for _, e in convs], batch_size, tok.special_tokens["<PAD>"], masking)
    return [{k: v.to(p.device) for k, v in b.items()} for b in batches]


def answer(model, tok, prompt: str, n: int) -> str:
    """Greedy chat answer (your week-11 generate_response, stops at <|im_end|>)."""
    formatting, generate = load("week11_sft.formatting"), load("week11_sft.generate")
    text = formatting.render_chatml([{"role": "user", "content": prompt}], True)
    ids = generate.generate_response(model, tok.encode(text), tok.special_tokens["<|im_end|>"], n)
    return tok.decode(ids)


@torch.no_grad()
def tokens_per_s(model, n: int) -> float:
    prompt = torch.zeros(1, 1, dtype=torch.long)
    model.generate(prompt, 2, temperature=0.0)  # warm-up
    start = time.perf_counter()
    model.generate(prompt, n, temperature=0.0)
    return n / (time.perf_counter() - start)


@torch.no_grad()
def perplexity(model, ids: torch.Tensor, T: int) -> float:
    """exp(mean NLL) over the first (at most 16) non-overlapping windows of T tokens."""
    n = min(16, (len(ids) - 1) // T)
    x, y = ids[: n * T].view(n, T), ids[1 : n * T + 1].view(n, T)
    logits = model(x)[0]
    return math.exp(F.cross_entropy(logits.reshape(-1, logits.size(-1)), y.reshape(-1)).item())


def eval_ids(ctx: Context, tok) -> torch.Tensor:
    p = ctx.preset
    text = source_path(p.eval_text).read_text(encoding="utf-8")[: p.eval_chars]
    ids = tok.encode(text)
    while len(ids) < p.block_size + 2:  # a tiny fixture: repeat it up to one window
        ids = ids + ids
    return torch.tensor(ids, dtype=torch.long)


# --- 1. tokenizer (week 06) --------------------------------------------------------------------
def tokenizer(ctx: Context) -> dict:
    p, out = ctx.preset, ctx.dir("tokenizer")
    BPETokenizer = load("week06_tokenizers.tokenizer").BPETokenizer
    export = load("week06_tokenizers.export")
    text = read_text(p.pretrain_text)
    instructions = json.loads(source_path(p.instructions).read_text(encoding="utf-8"))
    chat = "\n".join(
        f"{r['instruction']}\n{r.get('input', '')}\n{r['output']}" for r in instructions
    )
    # the BPE learns from the pre-training text and the instructions: one vocabulary for every stage
    sample = (text[: p.tokenizer_chars // 2] + "\n" + chat)[: p.tokenizer_chars]
    start = time.perf_counter()
    tok = BPETokenizer.train(sample, p.vocab_size, special_tokens=SPECIALS)
    seconds = time.perf_counter() - start
    export.to_hf_json(tok)  # your week-06 export must work: the run format is HF's tokenizer.json
    write_tokenizer(out, tok, p.block_size)
    held = text[-20_000:]
    bpt = len(held.encode("utf-8")) / max(1, len(tok.encode(held)))
    ctx.log(f"tokenizer: {len(tok)} tokens | {bpt:.2f} bytes/token | trained in {seconds:.1f} s")
    return {"vocab": len(tok), "bytes_per_token": bpt, "size_bytes": dir_bytes(out, "tokenizer*")}


# --- 2. pre-train (week 09; week 10's DDP under torchrun when nproc > 1) -------------------------
def pretrain_config(ctx: Context):
    """The week-09 trainer's settings for this preset: stage 1's tokenizer, the run in pretrain/run."""
    from course.week09_training import train as w09

    p = ctx.preset
    return w09.TrainConfig(
        train_files=[str(source_path(s)) for s in p.pretrain_text],
        val_files=[],
        val_fraction=p.val_fraction,
        tokenizer=str(tokenizer_file(ctx)),
        out_dir=str(run_dir(ctx, "pretrain")),
        block_size=p.block_size,
        n_layer=p.n_layer,
        n_head=p.n_head,
        n_embd=p.n_embd,
        bias=True,  # GPT-2 has biases everywhere
        batch_size=p.batch_size,
        max_steps=p.pretrain_steps,
        learning_rate=p.pretrain_lr,
        min_lr=p.pretrain_lr / 10,
        warmup_steps=p.warmup_steps,
        eval_interval=max(1, p.pretrain_steps // 5),
        eval_tokens=4096,
        log_interval=max(1, p.pretrain_steps // 10),
        ckpt_interval=p.ckpt_interval,
        tensorboard=False,
        sample_tokens=0,
        seed=p.seed,
        device=p.device,
        threads=p.threads,
        resume=ctx.resume,
        halt_after_step=max(1, p.pretrain_steps // 2) if ctx.halt_in == "pretrain" else 0,
        parallel="ddp" if p.nproc > 1 else "none",
    )


def pretrain(ctx: Context) -> dict:
    """The week-09 trainer, through its public interface (`llm-train`'s TrainConfig): one process,
    or `torchrun --nproc_per_node N` of the same trainer with --parallel ddp (your week-10 DDP)."""
    import subprocess

    from course.week09_training import train as w09

    p = ctx.preset
    cfg = pretrain_config(ctx)
    run = Path(cfg.out_dir)
    if p.nproc > 1:
        run.mkdir(parents=True, exist_ok=True)
        config = ctx.dir("pretrain") / "llm-train.toml"
        config.write_text(w09.to_toml(cfg), encoding="utf-8")
        cmd = [
            sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", str(p.nproc),
            "-m", "course.week09_training.train", "--config", str(config), "--impl", ctx.tree,
        ]  # fmt: skip
        ctx.log("pretrain: " + " ".join(cmd[2:]))
        subprocess.run(cmd, check=True, cwd=ROOT)
        final = json.loads((run / "metrics.json").read_text())
    else:
        final = w09.train(cfg)
    metrics = {
        "steps": final["steps"],
        "train_loss": final.get("train_loss"),
        "val_loss": final.get("val_loss"),
        "tokens_per_s_train": final["tokens_per_s"],
        "world": final.get("world_size", 1),
        "replicas_identical": final.get("replicas_identical"),
        "size_bytes": dir_bytes(run, "*.safetensors"),
        "parameters": final["parameters"],
    }
    if final.get("val_loss") is not None:
        metrics["val_ppl"] = math.exp(final["val_loss"])
    return metrics


# --- 3. SFT (week 11) ---------------------------------------------------------------------------
def sft(ctx: Context) -> dict:
    p = ctx.preset
    loop, special = load("week11_sft.loop"), load("week11_sft.special_tokens")
    model, tok = load_run(run_dir(ctx, "pretrain"))
    model.to(p.device)
    special.add_special_tokens(tok, model, ["<|im_start|>", "<|im_end|>"])  # already there: no-op
    train, val, test = instruction_splits(p)
    train_b, val_b = (
        chat_batches(tok, train, p, p.sft_batch),
        chat_batches(tok, val, p, p.sft_batch),
    )
    test_b = chat_batches(tok, test, p, p.sft_batch)
    base_loss = loop.evaluate(model, test_b)
    torch.manual_seed(p.seed)
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=p.sft_lr, weight_decay=0.0)
    hist = loop.train_sft(
        model, opt, train_b, val_b or train_b[:1],
        max_steps=p.sft_steps, eval_every=p.eval_every, patience=p.patience,
    )  # fmt: skip
    model.eval()
    ctx.maybe_halt("sft")
    test_loss = loop.evaluate(model, test_b)
    metrics = {
        "steps": len(hist["train_loss"]),
        "test_loss_before": base_loss,
        "test_loss": test_loss,
    }
    base = str(run_dir(ctx, "pretrain"))
    metrics["size_bytes"] = save_model(ctx, "sft", model.cpu(), tok, base, dict(metrics))
    ctx.log(f"sft: test loss (answers) {base_loss:.4f} -> {test_loss:.4f}")
    return metrics


# --- 4. LoRA / QLoRA (week 12) -----------------------------------------------------------------
def lora(ctx: Context) -> dict:
    p, out = ctx.preset, ctx.dir("lora")
    loop, inject = load("week11_sft.loop"), load("week12_peft.inject")
    model, tok = load_run(run_dir(ctx, "sft"))
    train, val, test = instruction_splits(p)
    train_b, val_b = (
        chat_batches(tok, train, p, p.sft_batch),
        chat_batches(tok, val, p, p.sft_batch),
    )
    test_b = chat_batches(tok, test, p, p.sft_batch)
    torch.manual_seed(p.seed)
    if p.qlora:
        load("week12_peft.qlora").inject_qlora(model, TARGETS, r=p.lora_r, alpha=p.lora_alpha)
    else:
        inject.inject_lora(model, TARGETS, r=p.lora_r, alpha=p.lora_alpha)
    trainable, total = inject.count_parameters(model)
    model.to(p.device)  # after the injection: the new LoRA tensors are made on the CPU
    opt = torch.optim.AdamW(
        [q for q in model.parameters() if q.requires_grad], lr=p.lora_lr, weight_decay=0.0
    )
    model.train()
    loop.train_sft(
        model, opt, train_b, val_b or train_b[:1],
        max_steps=p.lora_steps, eval_every=p.eval_every, patience=p.patience,
    )  # fmt: skip
    model.eval()
    test_loss = loop.evaluate(model, test_b)
    model.cpu()
    state = inject.lora_state_dict(model)
    inject.save_adapter(model, out / "adapter.safetensors")  # your format: the lora tensors only
    diff = save_peft_adapter(ctx, state, out / "adapter", model)
    ctx.maybe_halt("lora")
    # the merged model for the next stages: LoRA folded into the (full-precision) SFT weights
    merged = load_gpt(ctx, "sft")
    inject.inject_lora(merged, TARGETS, r=p.lora_r, alpha=p.lora_alpha)
    merged.load_state_dict(state, strict=False)
    inject.merge_and_unload(merged)
    ctx.log(f"lora: {trainable:,} of {total:,} trainable | test loss {test_loss:.4f}")
    metrics = {
        "method": "qlora" if p.qlora else "lora",
        "trainable": trainable,
        "total": total,
        "test_loss": test_loss,
        "peft_max_abs_diff": diff,
        "size_bytes": dir_bytes(out / "adapter", "*.safetensors"),
    }
    base = str(run_dir(ctx, "sft"))
    metrics["merged_bytes"] = save_model(ctx, "lora", merged.eval(), tok, base, dict(metrics))
    return metrics


def save_peft_adapter(ctx: Context, state: dict, folder: Path, ours) -> float:
    """Our LoRA tensors in a peft LoraConfig adapter on the SFT GPT2LMHeadModel (fan_in_fan_out:
    GPT-2's Conv1D keeps (in, out) weights; peft's lora_A (r, in) and lora_B (out, r) are ours).
    Returns the largest logit difference between peft's model and ours on a few tokens."""
    from peft import LoraConfig, get_peft_model
    from transformers import GPT2LMHeadModel

    p = ctx.preset
    hf = GPT2LMHeadModel.from_pretrained(run_dir(ctx, "sft"))  # a run is a transformers dir
    config = LoraConfig(
        r=p.lora_r,
        lora_alpha=p.lora_alpha,
        target_modules=TARGETS,
        fan_in_fan_out=True,
        lora_dropout=0.0,
    )
    peft_model = get_peft_model(hf, config).eval()
    theirs = dict(peft_model.named_parameters())
    with torch.no_grad():
        for key, value in state.items():
            theirs[f"base_model.model.{key}.default.weight"].copy_(value)
    peft_model.save_pretrained(folder)
    idx = torch.arange(min(8, p.block_size)).unsqueeze(0) % hf.config.vocab_size
    with torch.no_grad():
        return (peft_model(input_ids=idx).logits - ours(idx)[0]).abs().max().item()


# --- 5. DPO (week 13) ---------------------------------------------------------------------------
def preference_pairs(records: list[dict]) -> list[dict]:
    """Week 13's synthetic pairs (a wrong record's answer, or the right one cut short), in ChatML."""
    from course.week13_alignment.data import alpaca_prompt
    from course.week13_alignment.data import preference_pairs as alpaca_pairs

    formatting = load("week11_sft.formatting")
    by_prompt = {alpaca_prompt(r): r for r in records}
    pairs = []
    for pair in alpaca_pairs(records):
        user = formatting.record_to_messages(by_prompt[pair["prompt"]])[0]
        prompt = formatting.render_chatml([user], add_generation_prompt=True)
        pairs.append(
            {
                "prompt": prompt,
                "chosen": pair["chosen"] + "<|im_end|>",
                "rejected": pair["rejected"] + "<|im_end|>",
            }
        )
    return pairs


def dpo_batch(pairs: list[dict], tok, T: int, device: str = "cpu") -> dict:
    """(B, T) ids of prompt + response, right-padded with <PAD>, and 1 on the response tokens."""
    pad = tok.special_tokens["<PAD>"]
    batch = {}
    for side in ("chosen", "rejected"):
        ids = torch.full((len(pairs), T), pad, dtype=torch.long)
        mask = torch.zeros(len(pairs), T, dtype=torch.long)
        for b, pair in enumerate(pairs):
            prompt = tok.encode(pair["prompt"])[-(T // 2) :]
            row = (prompt + tok.encode(pair[side]))[:T]
            ids[b, : len(row)] = torch.tensor(row)
            mask[b, len(prompt) : len(row)] = 1
        batch[f"{side}_ids"], batch[f"{side}_mask"] = ids.to(device), mask.to(device)
    return batch


def dpo(ctx: Context) -> dict:
    from course.week13_alignment.project import held_out_accuracy

    p, out = ctx.preset, ctx.dir("dpo")
    step_fn, logprobs = load("week13_alignment.dpo"), load("week13_alignment.logprobs")
    policy, tok = load_run(run_dir(ctx, "lora"))
    policy.to(p.device).train()
    reference = load_gpt(ctx, "lora").to(p.device).requires_grad_(False)
    train, _, test = instruction_splits(p)
    train_pairs, test_pairs = preference_pairs(train), preference_pairs(test)
    torch.manual_seed(p.seed)
    opt = torch.optim.AdamW(policy.parameters(), lr=p.dpo_lr, weight_decay=0.0)
    g = random.Random(p.seed)
    history = []
    for step in range(p.dpo_steps):
        chosen = g.sample(train_pairs, min(p.dpo_batch, len(train_pairs)))
        stats = step_fn.dpo_step(
            policy, reference, dpo_batch(chosen, tok, p.block_size, p.device), opt, p.beta
        )
        history.append(stats)
        if step == p.dpo_steps // 2:
            ctx.maybe_halt("dpo")
    policy.eval()
    acc, margin = held_out_accuracy(
        policy, reference, dpo_batch(test_pairs, tok, p.block_size, p.device), logprobs
    )
    (out / "history.json").write_text(json.dumps(history, indent=1))
    ctx.log(
        f"dpo: loss {history[0]['loss']:.4f} -> {history[-1]['loss']:.4f} | held-out acc {acc:.2f}"
    )
    metrics = {
        "loss_first": history[0]["loss"],
        "loss_last": history[-1]["loss"],
        "held_out_accuracy": acc,
        "held_out_margin": margin,
    }
    base = str(run_dir(ctx, "lora"))
    metrics["size_bytes"] = save_model(ctx, "dpo", policy.cpu(), tok, base, dict(metrics))
    return metrics


# --- 6. quantize + GGUF (week 14) ---------------------------------------------------------------
def int8_model(model):
    """A copy with every block Linear in your week-14 Int8Linear (the tied head stays float)."""
    library = load("week14_quantization.library")
    int8 = load("week14_quantization.int8_linear")
    return library.replace_linears(copy.deepcopy(model).eval(), int8.Int8Linear.from_linear)


def load_int8(ctx: Context):
    """The stage-6 int8 model: the DPO architecture, converted, then the saved int8 state."""
    q = int8_model(load_gpt(ctx, "dpo"))
    q.load_state_dict(torch.load(ctx.dir("quantize") / "int8.pt", map_location="cpu"))
    return q.eval()


def quantize(ctx: Context) -> dict:
    import importlib.util

    from solutions.week05_gpt.model import GPT

    p, out = ctx.preset, ctx.dir("quantize")
    gguf = load("week14_quantization.gguf_export")
    model, tok = load_run(run_dir(ctx, "dpo"))
    ids = eval_ids(ctx, tok)
    q = int8_model(model)
    torch.save(q.state_dict(), out / "int8.pt")
    metrics = {
        "fp32_ppl": perplexity(model, ids, p.block_size),
        "int8_ppl": perplexity(q, ids, p.block_size),
        "int8_bytes": (out / "int8.pt").stat().st_size,
    }
    ctx.maybe_halt("quantize")
    for qtype in p.gguf_types:
        path = gguf.write_gguf(model, tok, out / f"model-{qtype}.gguf", qtype)
        config, state = gguf.read_gguf(path)
        back = GPT(config).eval()
        back.load_state_dict(state)
        metrics[f"gguf_{qtype}_bytes"] = path.stat().st_size
        metrics[f"gguf_{qtype}_ppl"] = perplexity(back, ids, p.block_size)
    if importlib.util.find_spec("llama_cpp") is not None:
        from llama_cpp import Llama

        path = out / f"model-{p.gguf_types[-1]}.gguf"
        llm = Llama(model_path=str(path), n_ctx=p.block_size, verbose=False)
        start = time.perf_counter()
        n = sum(1 for _, __ in zip(range(p.speed_tokens), llm.generate([0], temp=0.0, top_k=1)))
        metrics["llama_cpp_tokens_per_s"] = n / (time.perf_counter() - start)
        metrics["llama_cpp"] = f"ran {path.name}"
    else:
        metrics["llama_cpp"] = (
            'skipped: llama-cpp-python not installed (CMAKE_ARGS="-DGGML_NATIVE=OFF" '
            "pip install llama-cpp-python)"
        )
    metrics["size_bytes"] = metrics["int8_bytes"]
    ctx.log(
        "quantize: ppl fp32 {fp32_ppl:.2f} | int8 {int8_ppl:.2f} | ".format(**metrics)
        + " | ".join(f"{t} {metrics[f'gguf_{t}_ppl']:.2f}" for t in p.gguf_types)
    )
    return metrics


# --- 7. evaluate (week 17) ----------------------------------------------------------------------
def stage_models(ctx: Context) -> list[tuple[str, object]]:
    """(row name, week-05 GPT or its int8 twin) for every stage that produced a model."""
    return [
        ("pretrain", load_gpt(ctx, "pretrain")),
        ("sft", load_gpt(ctx, "sft")),
        ("lora", load_gpt(ctx, "lora")),
        ("dpo", load_gpt(ctx, "dpo")),
        ("quantize", load_int8(ctx)),
    ]


def evaluate(ctx: Context) -> dict:
    from course.week17_evaluation import project as w17

    p, out = ctx.preset, ctx.dir("evaluate")
    report, safety = load("week17_evaluation.report"), load("week17_evaluation.safety")
    tok = load_tokenizer(ctx)
    cfg = w17.ProjectConfig(
        questions=p.questions,
        resamples=p.resamples,
        safety_tokens=p.safety_tokens,
        ppl_chunks=4,
        seed=p.seed,
    )
    text = source_path(p.eval_text).read_text(encoding="utf-8")[: p.eval_chars]
    while len(tok.encode(text)) < 8 * p.block_size:  # tiny fixture: enough windows for 4 chunks
        text = text + "\n" + text
    docs = w17.benchmark_docs(p.arc, p.questions)
    rows = {}
    for name, model in stage_models(ctx):
        m = w17.Evaluated(
            name=name,
            logits_fn=lambda x, model=model: model(x)[0],
            encode=tok.encode,
            decode=tok.decode,
            max_length=p.block_size,
            hf_dir=None,  # no lm-eval column here: the week-17 project has it
            generate=lambda idx, n, model=model: model.generate(idx, n, temperature=0.0),
        )
        with torch.no_grad():
            ppl = w17.score_ppl(m, text, cfg)
            scores = w17.score_mc(m, docs, cfg)
            battery = w17.answer_battery(m, cfg)
            answers = [answer(model, tok, q, p.answer_tokens) for q in PROMPTS]
        row = {"ppl": ppl}
        for metric, values in scores.items():
            row[metric] = report.bootstrap_ci(values, n_resamples=p.resamples, seed=p.seed)
        s = safety.safety_report(safety.BATTERY, battery)
        row["safety_unsafe"] = len(s["unsafe"])
        row["safety_harmful"] = sum(c["n"] for k, c in s["by_category"].items() if k != "benign")
        row["safety_over_refusals"] = len(s["over_refusals"])
        row["safety_flagged"] = len(s["flagged"])
        row["tokens_per_s"] = tokens_per_s(model, p.speed_tokens)
        row["answers"] = answers
        rows[name] = row
        ctx.log(
            f"evaluate {name}: ppl {ppl['ppl']:.2f} | {p.arc} acc {row['acc'][0]:.2f} "
            f"acc_norm {row['acc_norm'][0]:.2f} | {row['tokens_per_s']:.0f} tok/s"
        )
        if name == "sft":
            ctx.maybe_halt("evaluate")
    (out / "eval.json").write_text(json.dumps(rows, indent=1))
    plot_quality(rows, p.arc, out / "quality.png")
    # the final model's card, written by your week-17 model_card from this run's numbers
    meta = card.card_meta(p, ctx.runs, ctx.tree, rows, len(docs))
    (out / card.CARD).write_text(report.model_card(meta), encoding="utf-8")
    ctx.log(f"evaluate: the final model's card is {out / card.CARD}")
    return {"models": len(rows), "arc": p.arc, "questions": len(docs)}


def plot_quality(rows: dict, arc: str, path: Path) -> None:
    """quality.png: perplexity and ARC acc (95 % interval) of each stage's model."""
    from matplotlib.figure import Figure

    names = list(rows)
    fig = Figure(figsize=(8, 3.5))
    ax1, ax2 = fig.subplots(1, 2)
    ax1.plot(names, [rows[n]["ppl"]["ppl"] for n in names], "o-")
    ax1.set_ylabel("perplexity (held-out text)")
    acc = [rows[n]["acc"] for n in names]
    ax2.errorbar(
        names,
        [a[0] for a in acc],
        yerr=[[a[0] - a[1] for a in acc], [a[2] - a[0] for a in acc]],
        fmt="o-",
        capsize=3,
    )
    ax2.set_ylabel(f"{arc} acc (95 % interval)")
    for ax in (ax1, ax2):
        ax.set_xlabel("stage")
        ax.grid(alpha=0.3)
    fig.suptitle("The capstone model across its stages")
    fig.tight_layout()
    fig.savefig(path, dpi=100)


# --- 8. RAG index (week 16) ---------------------------------------------------------------------
def rag(ctx: Context) -> dict:
    from course.week16_rag.project import hashing_embedder, minilm_embedder

    p, out = ctx.preset, ctx.dir("rag")
    chunking, store_mod = load("week16_rag.chunking"), load("week16_rag.store")
    records = json.loads(source_path(p.instructions).read_text(encoding="utf-8"))
    chunks = []
    for i, r in enumerate(records):
        doc = "\n".join(x for x in (r["instruction"], r.get("input", ""), r["output"]) if x)
        chunks += chunking.chunk_chars(doc, p.chunk_chars, 0, source=str(i))
    embed, what = hashing_embedder() if p.embedder == "hashing" else minilm_embedder(32)
    start = time.perf_counter()
    vectors = embed([c.text for c in chunks])
    store = store_mod.VectorStore(vectors.shape[1])
    store.add(
        list(range(len(chunks))),
        vectors,
        [{"source": c.source, "start": c.start, "end": c.end, "text": c.text} for c in chunks],
    )
    store.save(out / "store")
    seconds = time.perf_counter() - start
    hits1 = hits5 = 0
    queries = embed([r["instruction"] for r in records])
    for i, q in enumerate(queries):
        found = [meta["source"] for _, _, meta in store.search(q, 5)]
        hits1 += found[:1] == [str(i)]
        hits5 += str(i) in found
    metrics = {
        "chunks": len(chunks),
        "embedder": what,
        "recall_at_1": hits1 / len(records),
        "recall_at_5": hits5 / len(records),
        "build_s": seconds,
        "size_bytes": dir_bytes(out / "store"),
    }
    ctx.log(
        f"rag: {len(chunks)} chunks | instruction -> its record: recall@1 "
        f"{metrics['recall_at_1']:.2f}, @5 {metrics['recall_at_5']:.2f}"
    )
    return metrics


# --- 9. serve (week 18 on week 15's engine) -----------------------------------------------------
def build_app(ctx: Context, name: str = "capstone"):
    """(app, worker) serving the final run exactly as `llm-serve --model runs/capstone/dpo/run`
    does (its build: your worker and app; an answer ends at the chat tokenizer's <|im_end|>)."""
    from course.week18_serving.serve import build

    app, worker, _ = build(run_dir(ctx, "dpo"), max_batch=8, model_name=name)
    return app, worker


class Server:
    """uvicorn on 127.0.0.1 (a free port) in a thread; `with Server(app) as base_url: ...`."""

    def __init__(self, app):
        import uvicorn

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        config = uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        for _ in range(1000):
            if self.server.started:
                break
            time.sleep(0.02)
        return f"http://127.0.0.1:{self.port}/v1"

    def __exit__(self, *exc):
        self.server.should_exit = True
        self.thread.join(timeout=10)


def serve(ctx: Context) -> dict:
    """Serve the final run (dpo/run) and check it with the official OpenAI client."""
    from openai import OpenAI

    p, out = ctx.preset, ctx.dir("serve")
    app, worker = build_app(ctx)
    try:
        with Server(app) as base_url:
            client = OpenAI(base_url=base_url, api_key="none", max_retries=0)
            start = time.perf_counter()
            reply = client.chat.completions.create(
                model="capstone",
                messages=[{"role": "user", "content": PROMPTS[0]}],
                max_tokens=p.serve_tokens,
                temperature=0.0,
            )
            seconds = time.perf_counter() - start
            stream = client.chat.completions.create(
                model="capstone",
                messages=[{"role": "user", "content": PROMPTS[1]}],
                max_tokens=p.serve_tokens,
                temperature=0.0,
                stream=True,
            )
            streamed = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    finally:
        worker.stop()
    tokens = reply.usage.completion_tokens if reply.usage else 0
    smoke = {
        "prompt": PROMPTS[0],
        "reply": reply.choices[0].message.content,
        "streamed_prompt": PROMPTS[1],
        "streamed": streamed,
        "completion_tokens": tokens,
        "seconds": seconds,
    }
    (out / "smoke.json").write_text(json.dumps(smoke, indent=1))
    ctx.log(f"serve: the OpenAI client got {smoke['reply']!r} ({tokens} tokens)")
    return {
        "tokens_per_s": tokens / seconds if seconds else float("nan"),
        "reply": smoke["reply"],
        "size_bytes": dir_bytes(run_dir(ctx, "dpo"), "*.safetensors"),
    }


def serve_forever(ctx: Context, port: int, ui: bool) -> int:
    """The API (and the Gradio UI) on 127.0.0.1:PORT until Ctrl-C."""
    import uvicorn

    from course.week18_serving.serve import mount_ui

    app, worker = build_app(ctx)
    base = f"http://127.0.0.1:{port}"
    if ui:
        app = mount_ui(app, base + "/v1", "capstone", None)
    print(
        f"serving 'capstone': API {base}/v1" + (f", UI {base}/ui" if ui else "") + " (Ctrl-C stops)"
    )
    try:
        uvicorn.run(app, host="127.0.0.1", port=port, log_level="warning")
    finally:
        worker.stop()
    return 0


FUNCTIONS = {
    "tokenizer": tokenizer,
    "pretrain": pretrain,
    "sft": sft,
    "lora": lora,
    "dpo": dpo,
    "quantize": quantize,
    "evaluate": evaluate,
    "rag": rag,
    "serve": serve,
}  # in the order they run; presets.STAGES says each one's week, code and inputs
