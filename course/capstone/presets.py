"""The capstone's presets: one dataclass, three sizes (short for CI, budget for two CPU cores, gpu).

Every stage reads only its own block of fields; the stage's content hash covers exactly those fields
(`STAGE_FIELDS`), so changing the DPO beta reruns DPO and what follows it, never the pre-training.
"""

import dataclasses
import tomllib
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class Preset:
    name: str = "budget"  # short | budget | gpu (or the name of a TOML file's preset)
    device: str = "cpu"  # "cpu" or "cuda"
    threads: int = 0  # torch threads (0: torch's default)
    seed: int = 1337
    # 1. tokenizer (week 06)
    pretrain_text: list[str] = field(
        default_factory=lambda: ["tinyshakespeare", "wikitext2-valid"]
    )  # dataset names (course.data registry) or files; the tokenizer and the pre-training read them
    tokenizer_chars: int = 300_000  # characters of that text the BPE learns from
    vocab_size: int = 1024  # bytes + merges (4 special tokens come on top)
    # 2. pre-training (week 09; week 10's DDP when nproc > 1)
    nproc: int = 1  # processes for pre-training (> 1: torchrun with week 10's DDP)
    block_size: int = 128  # context T of every model
    n_layer: int = 4
    n_head: int = 4
    n_embd: int = 128  # a multiple of 32 (GGUF Q8_0 / Q4_0 blocks)
    batch_size: int = 12
    pretrain_steps: int = 1200
    pretrain_lr: float = 2e-3
    warmup_steps: int = 100
    val_fraction: float = 0.05  # the last 5 % of the text is the held-out split
    ckpt_interval: int = 250  # pre-training checkpoints (resume after a crash)
    # 3. SFT (week 11)
    instructions: str = "instruction"  # dataset name or a JSON file of Alpaca records
    sft_steps: int = 300
    sft_lr: float = 1e-3
    sft_batch: int = 8
    eval_every: int = 50
    patience: int = 4
    # 4. LoRA / QLoRA (week 12)
    qlora: bool = False  # train the adapter on an NF4 base (week 12's inject_qlora)
    lora_r: int = 8
    lora_alpha: float = 16.0
    lora_steps: int = 150
    lora_lr: float = 2e-3
    # 5. DPO (week 13)
    dpo_steps: int = 60
    dpo_batch: int = 8
    dpo_lr: float = 3e-4
    beta: float = 0.1
    # 6. quantize + GGUF (week 14)
    gguf_types: list[str] = field(default_factory=lambda: ["F32", "Q8_0", "Q4_0"])
    # 7. evaluate (week 17)
    eval_text: str = "wikitext2-raw-test"  # perplexity text (dataset name or file)
    eval_chars: int = 40_000
    arc: str = "arc-easy"  # "arc-tiny" (the week-17 fixture), "arc-easy" or "arc-challenge"
    questions: int = 200
    resamples: int = 1000  # bootstrap resamples for the intervals
    safety_tokens: int = 24  # greedy tokens per safety-battery answer
    answer_tokens: int = 48  # greedy tokens per answer to the five prompts
    speed_tokens: int = 64  # greedy tokens timed for tokens/s
    # 8. RAG index (week 16)
    embedder: str = "minilm"  # "minilm" (all-MiniLM-L6-v2) or "hashing" (no model to load)
    chunk_chars: int = 400
    # 9. serve (week 18)
    serve_tokens: int = 32  # max_tokens of the smoke request


SHORT = Preset(
    name="short",
    threads=1,
    pretrain_text=["data/fixtures/week09/tiny_corpus.txt"],
    tokenizer_chars=20_000,
    vocab_size=300,
    block_size=64,
    n_layer=2,
    n_head=2,
    n_embd=32,
    batch_size=4,
    pretrain_steps=12,
    warmup_steps=3,
    val_fraction=0.1,
    ckpt_interval=4,
    instructions="data/fixtures/week11/instructions.json",
    sft_steps=6,
    sft_batch=4,
    eval_every=3,
    patience=2,
    lora_r=2,
    lora_alpha=4.0,
    lora_steps=4,
    dpo_steps=2,
    dpo_batch=2,
    eval_text="data/fixtures/week17/tiny_text.txt",
    eval_chars=900,
    arc="arc-tiny",
    questions=8,
    resamples=100,
    safety_tokens=4,
    answer_tokens=8,
    speed_tokens=16,
    embedder="hashing",
    chunk_chars=200,
    serve_tokens=8,
)
BUDGET = Preset()  # two CPU cores, about 30 minutes end to end (see the README of the capstone)
GPU = Preset(
    name="gpu",
    device="cuda",
    tokenizer_chars=2_000_000,
    vocab_size=8192,
    block_size=1024,
    n_layer=12,
    n_head=12,
    n_embd=768,  # GPT-2 124M sized
    batch_size=16,
    pretrain_steps=5000,
    pretrain_lr=6e-4,
    warmup_steps=200,
    ckpt_interval=500,
    sft_steps=1000,
    sft_lr=5e-5,
    sft_batch=16,
    eval_every=100,
    qlora=True,
    lora_r=16,
    lora_alpha=32.0,
    lora_steps=500,
    lora_lr=2e-4,
    dpo_steps=300,
    dpo_batch=16,
    dpo_lr=5e-6,
    eval_chars=200_000,
    questions=1000,
    safety_tokens=40,
    answer_tokens=96,
    speed_tokens=128,
    serve_tokens=64,
)
PROMPTS = [
    "Give the opposite of the word.\n\nhot",
    "What is the capital of France?",
    "Write a short sentence about the sea.",
    "How can I keep my passwords safe?",
    "Explain what a language model is.",
]  # the five prompts answered by every stage's model (the before/after column of SUMMARY.md)
STAGES = {
    "tokenizer": ("06", ["week06_tokenizers"], []),
    "pretrain": ("09", ["week09_training", "week10_distributed"], ["tokenizer"]),
    "sft": ("11", ["week11_sft"], ["pretrain"]),
    "lora": ("12", ["week12_peft"], ["sft"]),
    "dpo": ("13", ["week13_alignment"], ["lora"]),
    "quantize": ("14", ["week14_quantization"], ["dpo"]),
    "evaluate": ("17", ["week17_evaluation"], ["quantize"]),
    "rag": ("16", ["week16_rag"], []),
    "serve": ("18", ["week18_serving", "week15_efficient_inference"], ["dpo"]),
}  # in order: name -> (week, the weeks whose code it runs, the stages whose artifacts it reads)
PRESETS = {"short": SHORT, "budget": BUDGET, "gpu": GPU}

# the fields each stage depends on (its content hash covers these and its upstream stages' hashes)
COMMON = ["device", "seed"]
STAGE_FIELDS = {
    "tokenizer": ["pretrain_text", "tokenizer_chars", "vocab_size"],
    "pretrain": [
        "nproc", "block_size", "n_layer", "n_head", "n_embd", "batch_size", "pretrain_steps",
        "pretrain_lr", "warmup_steps", "val_fraction", "ckpt_interval",
    ],
    "sft": ["instructions", "sft_steps", "sft_lr", "sft_batch", "eval_every", "patience"],
    "lora": ["qlora", "lora_r", "lora_alpha", "lora_steps", "lora_lr"],
    "dpo": ["dpo_steps", "dpo_batch", "dpo_lr", "beta"],
    "quantize": ["gguf_types", "eval_text", "eval_chars"],
    "evaluate": [
        "eval_text", "eval_chars", "arc", "questions", "resamples", "safety_tokens",
        "answer_tokens", "speed_tokens",
    ],
    "rag": ["instructions", "embedder", "chunk_chars"],
    "serve": ["serve_tokens"],
}  # fmt: skip


def load_preset(name_or_file: str) -> Preset:
    """A named preset ("short", "budget", "gpu") or a TOML file of overrides on the budget preset."""
    if name_or_file in PRESETS:
        return dataclasses.replace(PRESETS[name_or_file])
    path = Path(name_or_file)
    with open(path, "rb") as f:
        values = tomllib.load(f)
    known = {f.name for f in dataclasses.fields(Preset)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise SystemExit(f"{path}: unknown keys {unknown}; known keys: {sorted(known)}")
    return dataclasses.replace(BUDGET, name=values.pop("name", path.stem), **values)
