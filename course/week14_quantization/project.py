"""Week 14 project: what quantisation costs and buys on the course base model: size, tokens/s and
perplexity for fp32, int8 (ours and PyTorch's), 4-bit (ours and bitsandbytes NF4) and GGUF
F32/Q8_0/Q4_0, plus a short distillation run with the base as the teacher.

Starts from a base (`--base DIR|ID`, default the course base, built on first use by the tree of
`--impl`; the tiny one with `--short`; a run directory or a GPT-2-family Hugging Face model works
too) and quantises it as it is, with its own tokenizer and block size. Perplexity on WikiText-2 test
(`--text-file` for your own text: students train on its first 90 %, perplexity on the rest).
Writes to the out folder (default reports/week14/):
  quantization.md   one table: format, size, size vs fp32, tokens/s, perplexity, change vs fp32;
                    the base it came from
  size_vs_ppl.png   the size-vs-perplexity plot
  distillation.md   a 1-layer student trained on hard labels vs distilled from the base
  int8/             the int8 model's state dict (model.int8.pt) with the base's tokenizer.json and
                    a run.json card naming the base
  gguf/             the three GGUF files (llama.cpp can run them) with a run.json card
  config.json       the resolved settings of the run
The GGUF rows run in llama.cpp when llama-cpp-python is installed; otherwise the file is read back
into our GPT (read_gguf) and the row says so.
Run: `python tracker.py project 14` (your code) or `python -m course.week14_quantization.project
--impl solutions`. `--short` finishes in seconds.
"""

import copy
import importlib.util
import io
import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from course.base import add_base_flag, resolve_base
from course.runs import RunTokenizer, load_run, read_card
from roadmap.impl import load
from roadmap.project import parser, record, setup
from solutions.week05_gpt.model import GPT, GPTConfig
from solutions.week06_tokenizers.patterns import GPT2_SPLIT_PATTERN

LLAMA_INSTALL = 'CMAKE_ARGS="-DGGML_NATIVE=OFF" pip install llama-cpp-python'


@dataclass
class ProjectConfig:
    lr: float = 3e-3  # AdamW learning rate of the distillation students
    batch_size: int = 16  # distillation batch
    eval_tokens: int = 16_384  # test tokens for perplexity (non-overlapping windows)
    gen_tokens: int = 64  # greedy tokens at batch 1 for tokens/s
    group_size: int = 32  # 4-bit group
    student_steps: int = 300  # distillation: steps of each 1-layer student
    seed: int = 1337


SHORT = ProjectConfig(batch_size=4, eval_tokens=128, gen_tokens=4, student_steps=3)


class Int4Linear(nn.Module):
    """Given runtime: a Linear holding the learner's packed 4-bit weight; dequantises per call."""

    def __init__(self, linear: nn.Linear, group_size: int):
        super().__init__()
        int4 = load("week14_quantization.int4")
        packed, scale = int4.quantize_int4(linear.weight.detach(), group_size)
        self.register_buffer("packed", packed)
        self.register_buffer("scale", scale.half())  # stored in float16, like ggml's block scales
        bias = None if linear.bias is None else linear.bias.detach().clone()
        self.register_buffer("bias", bias)
        self._dequantize = int4.dequantize_int4

    def weight_float(self) -> torch.Tensor:
        return self._dequantize(self.packed, self.scale.float())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.linear(x, self.weight_float(), self.bias)


class TiedQuantEmbedding(nn.Module):
    """The token embedding reading the quantised lm_head's rows (GPT-2 ties the two)."""

    def __init__(self, head: nn.Module):
        super().__init__()
        self._head = [head]  # a list: not a submodule, so its buffers are saved once

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        head = self._head[0]
        if hasattr(head, "weight_float"):
            return F.embedding(idx, head.weight_float())
        return F.embedding(idx, head.q_w).float() * head.w_scale[idx].squeeze(-1).unsqueeze(-1)


class QuantPositions(nn.Module):
    """The position embedding in int8 with one absmax scale per position (the learner's code)."""

    def __init__(self, embedding: nn.Embedding):
        super().__init__()
        quantize = load("week14_quantization.quantize")
        q, scale = quantize.absmax_quantize(embedding.weight.detach(), per_channel=True)
        self.register_buffer("q", q)
        self.register_buffer("scale", scale)

    def forward(self, pos: torch.Tensor) -> torch.Tensor:
        return F.embedding(pos, self.q).float() * self.scale[pos]


def quantize_ours(model: GPT, kind: str, group_size: int) -> GPT:
    """A copy with every Linear (the tied head and embedding included) in our int8 or int4, and
    the position embedding in int8; LayerNorms and biases stay fp32."""
    library = load("week14_quantization.library")
    if kind == "int8":
        convert = load("week14_quantization.int8_linear").Int8Linear.from_linear
    else:

        def convert(linear):
            return Int4Linear(linear, group_size)

    q = copy.deepcopy(model).eval()
    head = convert(q.lm_head)
    library.replace_linears(q, convert)  # skips lm_head
    q.lm_head = head
    q.transformer.wte = TiedQuantEmbedding(head)
    q.transformer.wpe = QuantPositions(q.transformer.wpe)
    return q


def quantize_bnb_nf4(model: GPT) -> GPT:
    """A copy with the block Linears in bitsandbytes NF4 (the tied embedding/head stay fp32)."""
    library = load("week14_quantization.library")
    return library.replace_linears(copy.deepcopy(model).eval(), library.bnb_4bit_linear)


def saved_bytes(model: nn.Module) -> int:
    """Bytes of torch.save(state_dict): shared storages once, quantised buffers at their size."""
    buffer = io.BytesIO()
    torch.save(model.state_dict(), buffer)
    return buffer.tell()


class GGUFVocab:
    """A run's byte-level BPE as write_gguf reads a week-06 BPETokenizer: vocab (id -> bytes),
    special_tokens, merges ((left id, right id) in rank order), pattern (the split regex), len.

    The course base's tokenizer.json splits with the week-06 pattern, then maps bytes; a GPT-2
    tokenizer's ByteLevel pre-tokenizer splits with GPT-2's own pattern.
    """

    def __init__(self, tok: RunTokenizer):
        spec = json.loads(tok.to_hf().to_str())
        ids = spec["model"]["vocab"]  # byte-mapped token text -> id
        pairs = [m.split(" ") if isinstance(m, str) else m for m in spec["model"]["merges"]]
        self.merges = [(ids[left], ids[right]) for left, right in pairs]
        self.vocab = tok.vocab
        self.special_tokens = tok.special_tokens
        self._len = len(tok)
        pre = spec.get("pre_tokenizer") or {}
        steps = pre.get("pretokenizers", [pre])
        if steps[0].get("type") == "Split":
            self.pattern = steps[0]["pattern"]["Regex"]
        elif steps[0].get("type") == "ByteLevel" and steps[0].get("use_regex", True):
            self.pattern = GPT2_SPLIT_PATTERN  # HF's ByteLevel regex is GPT-2's pattern
        else:
            raise ValueError(f"no split pattern in the tokenizer's pre-tokenizer: {pre}")

    def __len__(self) -> int:
        return self._len


def write_card(folder: Path, base: str, what: str, metrics: dict) -> None:
    """run.json beside quantised files: what they are and the base they came from (no
    model.safetensors here, so load_run and find_runs do not take the folder for a run)."""
    card = {"made_by": "week 14 project", "what": what, "base": base, "metrics": metrics}
    (folder / "run.json").write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")


def batch(ids: torch.Tensor, T: int, B: int, g: torch.Generator):
    starts = torch.randint(0, len(ids) - T - 1, (B,), generator=g).tolist()
    x = torch.stack([ids[s : s + T] for s in starts])
    y = torch.stack([ids[s + 1 : s + T + 1] for s in starts])
    return x, y


def windows(ids: torch.Tensor, T: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Non-overlapping (x, y) windows of length T covering ids: (W, T) each."""
    n = (len(ids) - 1) // T
    x = ids[: n * T].reshape(n, T)
    y = ids[1 : n * T + 1].reshape(n, T)
    return x, y


@torch.no_grad()
def perplexity(forward, ids: torch.Tensor, T: int) -> float:
    x, y = windows(ids, T)
    nll = 0.0
    for i in range(0, len(x), 8):
        logits = forward(x[i : i + 8]).float()
        nll += F.cross_entropy(
            logits.reshape(-1, logits.shape[-1]), y[i : i + 8].reshape(-1), reduction="sum"
        ).item()
    return math.exp(nll / y.numel())


@torch.no_grad()
def tokens_per_second(model: GPT, n: int) -> float:
    prompt = torch.zeros(1, 1, dtype=torch.long)
    model.generate(prompt, 2, temperature=0.0)  # warm-up
    start = time.perf_counter()
    model.generate(prompt, n, temperature=0.0)
    return n / (time.perf_counter() - start)


def llama_rows(paths: dict[str, Path], ids: torch.Tensor, T: int, n: int, threads: int) -> dict:
    """(perplexity, tokens/s) per GGUF file in llama.cpp."""
    from llama_cpp import Llama

    out = {}
    x, y = windows(ids, T)
    for qtype, path in paths.items():
        llm = Llama(
            model_path=str(path), n_ctx=T, n_threads=threads, logits_all=True, verbose=False
        )
        nll = 0.0
        for row, target in zip(x.tolist(), y.tolist()):
            llm.reset()
            llm.eval(row)
            logits = torch.from_numpy(np.array(llm.scores[: len(row)], dtype=np.float32))
            nll += F.cross_entropy(logits, torch.tensor(target), reduction="sum").item()
        llm.reset()
        start = time.perf_counter()
        count = 0
        for _ in llm.generate([0], temp=0.0, top_k=1, repeat_penalty=1.0):
            count += 1
            if count == n:
                break
        out[qtype] = (math.exp(nll / y.numel()), count / (time.perf_counter() - start))
    return out


def distillation(
    teacher: GPT, train: torch.Tensor, test: torch.Tensor, T: int, cfg: ProjectConfig
) -> list[str]:
    """A 1-layer student trained on hard labels vs distilled from the base (temperature 2, alpha
    0.5), same batches; perplexity on `test` in windows of T."""
    distill = load("week14_quantization.distill")

    class Logits(nn.Module):
        def __init__(self, gpt: GPT):
            super().__init__()
            self.gpt = gpt

        def forward(self, x):
            return self.gpt(x)[0]

    config = teacher.config
    small = GPTConfig(
        block_size=config.block_size, vocab_size=config.vocab_size, n_layer=1, n_head=2, n_embd=64
    )
    g = torch.Generator().manual_seed(cfg.seed + 1)
    batches = [batch(train, small.block_size, cfg.batch_size, g) for _ in range(cfg.student_steps)]
    results = {}
    for label, alpha in (("hard labels only (alpha 0)", 0.0), ("distilled (T 2, alpha 0.5)", 0.5)):
        torch.manual_seed(cfg.seed + 2)
        student = Logits(GPT(small))
        opt = torch.optim.AdamW(student.parameters(), lr=cfg.lr, weight_decay=0.0)
        losses = distill.distill_student(
            student, Logits(teacher), batches, opt, cfg.student_steps, temperature=2.0, alpha=alpha
        )
        student.eval()
        results[label] = (losses[-1], perplexity(student, test, T))
    lines = [
        f"# Distillation: 1-layer, C=64 students ({cfg.student_steps} steps) from the "
        f"{config.n_layer}-layer, C={config.n_embd} base",
        "",
        "| student | final training objective | test perplexity |",
        "|---|---:|---:|",
    ]
    lines += [f"| {k} | {loss:.3f} | {ppl:.2f} |" for k, (loss, ppl) in results.items()]
    lines += ["", f"The base itself: test perplexity {perplexity(Logits(teacher), test, T):.2f}."]
    return lines


def plot(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for row in rows:
        ax.scatter(row["size"] / 1e6, row["ppl"])
        ax.annotate(
            row["name"],
            (row["size"] / 1e6, row["ppl"]),
            fontsize=7,
            xytext=(3, 3),
            textcoords="offset points",
        )
    ax.set_xlabel("size (MB)")
    ax.set_ylabel("test perplexity")
    ax.set_title("Size vs perplexity of the base")
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    p = parser(14, "Size, tokens/s and perplexity of the base in fp32, int8, 4-bit and GGUF.")
    add_base_flag(p)
    p.add_argument(
        "--text-file", type=Path, default=None, help="students train on 90 %%, test on the rest"
    )
    p.add_argument("--threads", type=int, default=1, help="torch and llama.cpp threads")
    args = p.parse_args(argv)
    out = setup(14, args)
    torch.set_num_threads(args.threads)
    cfg = copy.deepcopy(SHORT if args.short else ProjectConfig())
    base = resolve_base(args.base, args.short)
    (out / "config.json").write_text(
        json.dumps({**asdict(cfg), "base": base}, indent=2) + "\n", encoding="utf-8"
    )
    start = time.perf_counter()
    model, tok = load_run(base)
    config = model.config

    if args.text_file is not None:
        text = args.text_file.read_text(encoding="utf-8")
        cut = int(len(text) * 0.9)
        train_text, test_text, source = text[:cut], text[cut:], str(args.text_file)
    else:
        from course.data import dataset_path

        train_text = dataset_path("wikitext2-valid").read_text(encoding="utf-8")
        test_text = dataset_path("wikitext2-test").read_text(encoding="utf-8")
        source = "WikiText-2 (students train on valid, perplexity on test)"
    train_ids = torch.tensor(tok.encode(train_text), dtype=torch.long)
    test_ids = torch.tensor(tok.encode(test_text)[: cfg.eval_tokens + 1], dtype=torch.long)
    T = min(config.block_size, len(test_ids) - 1)

    def logits_of(m):
        return lambda x: m(x)[0]

    library = load("week14_quantization.library")
    candidates = [
        ("fp32", model, ""),
        (
            "int8 (ours, per channel, int32 accumulate)",
            quantize_ours(model, "int8", cfg.group_size),
            "",
        ),
        (
            "int8 (torch quantize_dynamic)",
            library.torch_dynamic_int8(model),
            "head quantised too, embedding fp32",
        ),
        (
            f"4-bit (ours, group {cfg.group_size})",
            quantize_ours(model, "int4", cfg.group_size),
            "dequantised per call",
        ),
        ("4-bit (bitsandbytes NF4)", quantize_bnb_nf4(model), "embedding/head fp32"),
    ]
    rows = []
    for name, m, note in candidates:
        rows.append(
            dict(
                name=name,
                size=saved_bytes(m),
                ppl=perplexity(logits_of(m), test_ids, T),
                tps=tokens_per_second(m, cfg.gen_tokens),
                note=note,
            )
        )
        print(
            f"{name}: {rows[-1]['size'] / 1e6:.2f} MB | ppl {rows[-1]['ppl']:.2f} | {rows[-1]['tps']:.0f} tok/s"
        )

    int8_dir = out / "int8"
    int8_dir.mkdir(exist_ok=True)
    torch.save(candidates[1][1].state_dict(), int8_dir / "model.int8.pt")
    tok.to_hf().save(str(int8_dir / "tokenizer.json"))
    gguf = load("week14_quantization.gguf_export")
    folder = out / "gguf"
    folder.mkdir(exist_ok=True)
    vocab = GGUFVocab(tok)
    paths = {
        q: gguf.write_gguf(model, vocab, folder / f"week14_{q}.gguf", q)
        for q in ("F32", "Q8_0", "Q4_0")
    }
    have_llama = importlib.util.find_spec("llama_cpp") is not None
    measured = llama_rows(paths, test_ids, T, cfg.gen_tokens, args.threads) if have_llama else {}
    for qtype, path in paths.items():
        if have_llama:
            ppl, tps = measured[qtype]
            rows.append(
                dict(
                    name=f"GGUF {qtype} (llama.cpp)",
                    size=path.stat().st_size,
                    ppl=ppl,
                    tps=tps,
                    note="",
                )
            )
        else:
            config_back, state = gguf.read_gguf(path)
            back = GPT(config_back).eval()
            back.load_state_dict(state)
            rows.append(
                dict(
                    name=f"GGUF {qtype} (read back into our GPT)",
                    size=path.stat().st_size,
                    ppl=perplexity(logits_of(back), test_ids, T),
                    tps=float("nan"),
                    note=f"llama.cpp not installed: {LLAMA_INSTALL}",
                )
            )

    fp32 = rows[0]
    made_by = read_card(base).get("made_by", "a GPT-2-family Hugging Face model")
    lines = [
        "# Quantisation of the base",
        "",
        f"Base: `{base}` ({made_by}): {config.n_layer} layers, C={config.n_embd}, "
        f"V={config.vocab_size} (byte-level BPE), block {config.block_size}. Data: {source}; "
        f"perplexity over {len(test_ids) - 1} test tokens in windows of {T}; tokens/s: greedy, "
        f"batch 1, no KV cache, {args.threads} thread(s). Size: bytes of torch.save(state_dict) "
        "(GGUF: the file). Files: int8/model.int8.pt, gguf/week14_*.gguf, each folder with a "
        "run.json naming the base.",
        "",
        "| format | size (MB) | x fp32 | tokens/s | perplexity | vs fp32 | note |",
        "|---|---:|---:|---:|---:|---:|---|",
    ]
    for row in rows:
        tps = "—" if math.isnan(row["tps"]) else f"{row['tps']:.0f}"
        lines.append(
            f"| {row['name']} | {row['size'] / 1e6:.3f} | {row['size'] / fp32['size']:.3f} | {tps} | "
            f"{row['ppl']:.3f} | {100 * (row['ppl'] / fp32['ppl'] - 1):+.2f}% | {row['note']} |"
        )
    int8, int4 = rows[1], rows[3]
    goals = [
        ("int8 (ours) size <= 0.27x fp32", int8["size"] / fp32["size"] <= 0.27),
        ("int8 (ours) perplexity <= +1%", int8["ppl"] <= fp32["ppl"] * 1.01),
        ("4-bit (ours) size <= 0.16x fp32", int4["size"] / fp32["size"] <= 0.16),
        ("4-bit (ours) perplexity <= +5%", int4["ppl"] <= fp32["ppl"] * 1.05),
    ]
    lines += [
        "",
        "Goals: " + "; ".join(f"{g}: {'met' if ok else 'NOT met'}" for g, ok in goals),
        "",
    ]
    table = "\n".join(lines)
    print(table)
    (out / "quantization.md").write_text(table, encoding="utf-8")
    plot(rows, out / "size_vs_ppl.png")
    write_card(
        int8_dir,
        base,
        "the base with every Linear in w14.int8_linear (per channel), positions in int8",
        {"perplexity": int8["ppl"], "fp32_perplexity": fp32["ppl"], "bytes": int8["size"]},
    )
    write_card(
        folder,
        base,
        "the base as GGUF F32 / Q8_0 / Q4_0 (w14.gguf), for llama.cpp",
        {row["name"]: {"perplexity": row["ppl"], "bytes": row["size"]} for row in rows[5:]},
    )
    distilled = distillation(model, train_ids, test_ids, T, cfg)
    (out / "distillation.md").write_text("\n".join(distilled) + "\n", encoding="utf-8")
    print("\n".join(distilled))
    record(
        14,
        f"int8 {int8['size'] / fp32['size']:.2f}x size {100 * (int8['ppl'] / fp32['ppl'] - 1):+.2f}% ppl | "
        f"4-bit {int4['size'] / fp32['size']:.2f}x size {100 * (int4['ppl'] / fp32['ppl'] - 1):+.2f}% ppl | "
        f"fp32 ppl {fp32['ppl']:.2f} | {time.perf_counter() - start:.0f} s",
        out,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
