"""Given runtime of week 17: export a week-05 GPT + week-06 BPE as a Hugging Face directory, write a
local lm-evaluation-harness task, and run lm-eval on it offline.

lm-eval is the oracle of w17.multiple_choice (checks/week17_evaluation/test_lm_eval.py) and the
cross-check column of the project's report. Everything here runs offline: the task reads a local
JSONL through `dataset_path: json`, the model is a local directory.
"""

import json
import os
from pathlib import Path

import torch

from solutions.week05_gpt.hf import export_hf
from solutions.week05_gpt.model import GPT, GPTConfig
from solutions.week06_tokenizers.export import to_hf_json
from solutions.week06_tokenizers.tokenizer import BPETokenizer

EOT = "<|endoftext|>"

TASK_YAML = """task: {name}
dataset_path: json
dataset_kwargs:
  data_files:
    test: {data_file}
test_split: test
output_type: multiple_choice
doc_to_text: "{{{{query}}}}\\nAnswer:"
doc_to_choice: "{{{{choices}}}}"
doc_to_target: "{{{{gold}}}}"
num_fewshot: 0
metric_list:
  - metric: acc
    aggregation: mean
    higher_is_better: true
  - metric: acc_norm
    aggregation: mean
    higher_is_better: true
"""


def offline() -> None:
    """No hub or dataset look-ups: without HF_DATASETS_OFFLINE even local JSON files cause DNS calls."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["HF_DATASETS_OFFLINE"] = "1"


def tiny_tokenizer(text: str, vocab_size: int = 320) -> BPETokenizer:
    """A week-06 byte-level BPE trained on `text` (vocab_size - 256 merges, then the specials)."""
    return BPETokenizer.train(text, vocab_size)


def tiny_gpt(vocab_size: int, seed: int = 0, block_size: int = 128) -> GPT:
    """A random 2-layer week-05 GPT (C=32): different log-likelihoods per choice, nothing trained."""
    torch.manual_seed(seed)
    config = GPTConfig(block_size=block_size, vocab_size=vocab_size, n_layer=2, n_head=2, n_embd=32)
    return GPT(config).eval()


def export_model_dir(model: GPT, tok: BPETokenizer, out_dir: str | Path) -> Path:
    """Write `model` (GPT2LMHeadModel weights + config) and `tok` (tokenizer.json) to `out_dir`."""
    from tokenizers import Tokenizer
    from transformers import PreTrainedTokenizerFast

    out = export_hf(model, out_dir)
    eot = EOT if EOT in tok.special_tokens else None
    hf_tok = PreTrainedTokenizerFast(
        tokenizer_object=Tokenizer.from_str(to_hf_json(tok)), eos_token=eot, pad_token=eot
    )
    hf_tok.save_pretrained(out)
    return out


def write_task(task_dir: str | Path, name: str, data_file: str | Path) -> Path:
    """A zero-shot multiple-choice task `name` over a JSONL of {query, choices, gold} records."""
    task_dir = Path(task_dir)
    task_dir.mkdir(parents=True, exist_ok=True)
    path = task_dir / f"{name}.yaml"
    path.write_text(TASK_YAML.format(name=name, data_file=Path(data_file).resolve()))
    return path


def run_lm_eval(
    model_dir: str | Path, task_dir: str | Path, task: str, limit: int | None = None
) -> dict:
    """lm-eval's simple_evaluate (in process) on a local model and task, with per-sample logs.

    Returns {"acc": float, "acc_norm": float, "samples": [{"doc_id", "arguments", "lls"}]}, where
    `arguments` are lm-eval's (context, continuation) requests and `lls` its log-likelihoods.
    """
    offline()
    from lm_eval import simple_evaluate
    from lm_eval.tasks import TaskManager

    results = simple_evaluate(
        model="hf",
        model_args=f"pretrained={Path(model_dir).resolve()},dtype=float32",
        tasks=[task],
        device="cpu",
        batch_size=8,
        limit=limit,
        log_samples=True,
        task_manager=TaskManager(include_path=str(Path(task_dir).resolve())),
    )
    metrics = results["results"][task]
    samples = [
        {
            "doc_id": s["doc_id"],
            "arguments": [tuple(a) for a in s["arguments"]],
            "lls": [float(r[0][0]) for r in s["resps"]],
        }
        for s in sorted(results["samples"][task], key=lambda s: s["doc_id"])
    ]
    return {"acc": metrics["acc,none"], "acc_norm": metrics["acc_norm,none"], "samples": samples}


def read_jsonl(path: str | Path) -> list[dict]:
    """The records of a JSONL file."""
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]
