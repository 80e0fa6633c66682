"""Week 07 project: the family table, and your LLaMA generating side by side with transformers.

1. family_table.md: parameters, attention type and KV-cache memory (bf16, at 4K context and at each
   model's max context) for the LLaMA-, Mistral-, Phi-3- and Qwen2-like configs in family.py.
2. generation.md: a tiny random MistralForCausalLM (sliding window active) is loaded into your Llama
   with your loader; both generate greedily from the same prompt and the tokens are shown side by side.
3. Looking inside your own trained GPT (`--base`: the course base by default, the short base with
   --short, or any run directory) with your hooks, logit lens and induction scores:
   attention.png (every layer and head on a sentence and on a repeated random sequence, side by
   side), logit_lens.md (the top token of every layer at the last positions of a prompt, and each
   layer's loss) and induction.md (the induction score of every head, and each layer's loss on the
   first copy and on the repeat).
Run: `python tracker.py project 7` (your code) or `python tracker.py project 7 --impl solutions`.
"""

from pathlib import Path

import torch

from course.base import add_base_flag, resolve_base
from course.runs import load_run
from roadmap.impl import load
from roadmap.project import parser, record, setup

PROMPT = "The king said to the queen: the king is here, and the queen said to the king"
LENS_POSITIONS = 8  # the last positions of the prompt shown in the logit-lens table
INDUCTION_BATCH = 8  # repeated random sequences per measurement


def tiny_mistral(seed: int = 0):
    """A small random MistralForCausalLM (window 8) in eval mode; weights seeded, no download."""
    from transformers import MistralConfig, MistralForCausalLM

    config = MistralConfig(
        vocab_size=128,
        hidden_size=64,
        intermediate_size=172,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=128,
        sliding_window=8,
        bos_token_id=None,
        eos_token_id=None,
        pad_token_id=None,
        attn_implementation="eager",
    )
    torch.manual_seed(seed)
    model = MistralForCausalLM(config).eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            # larger than the default init so the greedy path is not one token repeated
            p.normal_(1.0 if "norm" in name else 0.0, 0.3)
    return model


def side_by_side(new_tokens: int, seed: int = 0) -> tuple[list[int], list[int], float]:
    """Greedy continuations of one prompt by transformers and by your Llama with the same weights."""
    load_llama = load("week07_architectures.load_llama")
    hf = tiny_mistral(seed)
    ours = load_llama.llama_from_hf(hf)
    prompt = torch.tensor([[3, 14, 15, 92, 65]])
    with torch.no_grad():
        theirs = hf.generate(
            prompt, max_new_tokens=new_tokens, do_sample=False, pad_token_id=0, eos_token_id=None
        )
        mine = ours.generate(prompt, new_tokens, temperature=0.0)
        logit_gap = (hf(theirs).logits - ours(theirs)[0]).abs().max().item()
    return theirs[0].tolist(), mine[0].tolist(), logit_gap


def shown(tok, i: int) -> str:
    """One token as a Markdown table cell: spaces as ␣, newlines as \\n, pipes escaped."""
    text = tok.decode([i]).replace(" ", "␣").replace("\n", "\\n").replace("|", "\\|")
    return f"`{text}`" if text else "`∅`"


def lens_table(model, tok, interpret) -> list[str]:
    """logit_lens.md: the top token of every lens entry at the prompt's last positions, and the
    loss of every entry on the whole prompt."""
    ids = tok.encode(PROMPT)[: model.config.block_size]
    idx = torch.tensor([ids])  # (1, T)
    targets = torch.tensor([ids[1:] + [-100]])  # (1, T)
    with torch.no_grad(), interpret.record(model) as trace:
        model(idx)
    with torch.no_grad():
        lens = interpret.logit_lens(model, trace)  # (L + 1, 1, T, V)
        losses = interpret.lens_losses(lens, targets)  # (L + 1,)
    top = lens[:, 0].argmax(dim=-1)  # (L + 1, T)
    cols = range(max(0, len(ids) - LENS_POSITIONS), len(ids))
    names = ["embeddings"] + [f"after block {i + 1}" for i in range(len(lens) - 1)]
    lines = [
        "# Logit lens: what each layer would predict",
        "",
        f"Prompt ({len(ids)} tokens): {PROMPT!r}. Each row reads the residual stream after that "
        "layer through the final LayerNorm and the unembedding; a cell is the top next token at "
        "one position; the last column is that reading's mean loss over the whole prompt. The "
        "last row is the model's own prediction.",
        "",
        "| layer | " + " | ".join(shown(tok, ids[t]) for t in cols) + " | loss |",
        "|---|" + "---|" * len(cols) + "---:|",
        "| next token | "
        + " | ".join(shown(tok, ids[t + 1]) if t + 1 < len(ids) else "" for t in cols)
        + " | |",
    ]
    for name, row, loss in zip(names, top, losses):
        lines.append(
            f"| {name} | " + " | ".join(shown(tok, int(row[t])) for t in cols) + f" | {loss:.2f} |"
        )
    return lines + [""]


def induction(model, interpret, half: int) -> tuple[list[str], torch.Tensor]:
    """induction.md and the (L, H) scores on INDUCTION_BATCH random sequences repeated once."""
    g = torch.Generator().manual_seed(0)
    tokens = interpret.repeated_tokens(INDUCTION_BATCH, half, model.config.vocab_size, g)
    first, second = interpret.repeat_targets(tokens, half)
    with torch.no_grad(), interpret.record(model) as trace:
        model(tokens)
    with torch.no_grad():
        scores = interpret.induction_scores(trace.patterns, half)  # (L, H)
        lens = interpret.logit_lens(model, trace)
        loss_first = interpret.lens_losses(lens, first)  # (L + 1,)
        loss_second = interpret.lens_losses(lens, second)
    L, H = scores.shape
    uniform = sum(1 / (t + 1) for t in range(half, 2 * half)) / half
    lines = [
        "# Induction heads",
        "",
        f"{INDUCTION_BATCH} random sequences of {half} tokens, each followed by itself. The score "
        f"of a head is its mean attention from each token of the repeat to the token after that "
        f"token's first occurrence (1 = a perfect induction head; a head attending uniformly "
        f"would score {uniform:.3f}).",
        "",
        "| block | " + " | ".join(f"head {h}" for h in range(H)) + " |",
        "|---|" + "---:|" * H,
        *[f"| {i} | " + " | ".join(f"{float(s):.3f}" for s in scores[i]) + " |" for i in range(L)],
        "",
        "Loss per layer (logit lens) on the first copy (random: about ln V = "
        f"{torch.log(torch.tensor(float(model.config.vocab_size))):.2f} at best) and on the "
        "repeat (an induction head can copy it):",
        "",
        "| layer | first copy | repeat |",
        "|---|---:|---:|",
        *[
            f"| {'embeddings' if i == 0 else f'after block {i}'} | {a:.2f} | {b:.2f} |"
            for i, (a, b) in enumerate(zip(loss_first, loss_second))
        ],
        "",
    ]
    return lines, scores


def attention_figure(model, tok, interpret, half: int, path: Path) -> None:
    """attention.png: one row per layer; the heads on the prompt, then the heads on a repeat."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    T = 2 * half
    text = torch.tensor([tok.encode(PROMPT)[:T]])
    g = torch.Generator().manual_seed(1)
    repeat = interpret.repeated_tokens(1, half, model.config.vocab_size, g)
    maps = []
    for idx in (text, repeat):
        with torch.no_grad(), interpret.record(model) as trace:
            model(idx)
        maps.append([p[0] for p in trace.patterns])  # L x (H, T, T)
    L, H = len(maps[0]), maps[0][0].shape[0]
    fig, axes = plt.subplots(L, 2 * H, figsize=(1.6 * 2 * H, 1.7 * L + 0.6), squeeze=False)
    for i in range(L):
        for j, (name, layer_maps) in enumerate(zip(("prompt", "repeat"), maps)):
            for h in range(H):
                ax = axes[i][j * H + h]
                ax.imshow(layer_maps[i][h].numpy(), cmap="viridis", vmin=0.0, vmax=1.0)
                ax.set_title(f"{name} L{i} H{h}", fontsize=7)
                ax.set_xticks([])
                ax.set_yticks([])
    fig.suptitle(
        f"Attention patterns (query rows, key columns): {text.shape[1]} prompt tokens | "
        f"{half} random tokens repeated",
        fontsize=9,
    )
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def look_inside(out: Path, base: str) -> str:
    """The three reports on the base model; returns the metrics fragment."""
    interpret = load("week07_architectures.interpret")
    model, tok = load_run(base)
    half = min(40, model.config.block_size // 2)
    lens_lines = lens_table(model, tok, interpret)
    induction_lines, scores = induction(model, interpret, half)
    header = [f"Base: `{base}`", ""]
    (out / "logit_lens.md").write_text("\n".join(header + lens_lines), encoding="utf-8")
    (out / "induction.md").write_text("\n".join(header + induction_lines), encoding="utf-8")
    attention_figure(model, tok, interpret, min(16, half), out / "attention.png")
    print("\n".join(lens_lines + induction_lines))
    best = int(scores.argmax())
    layer, head = divmod(best, scores.shape[1])
    return f"induction: best {scores.max():.2f} (block {layer} head {head})"


def main(argv: list[str] | None = None) -> int:
    p = parser(7, "Family table, a side-by-side generation, and a look inside your GPT.")
    add_base_flag(p)
    args = p.parse_args(argv)
    out = setup(7, args)
    family = load("week07_architectures.family")
    table = family.family_table(family.FAMILIES, context=4096)
    (out / "family_table.md").write_text(
        "# Model families: parameters and KV cache (bf16)\n\n" + table + "\n", encoding="utf-8"
    )
    print(table)

    new_tokens = 12 if args.short else 40
    theirs, mine, gap = side_by_side(new_tokens)
    same = sum(a == b for a, b in zip(theirs, mine))
    lines = [
        "# Greedy generation: transformers MistralForCausalLM vs your Llama, same random weights",
        "",
        f"prompt: {theirs[:5]}; sliding window 8; {new_tokens} new tokens; "
        f"max |logit difference| over the full sequence {gap:.2e}",
        "",
        "| step | transformers | yours | same |",
        "|---:|---:|---:|:---:|",
        *[
            f"| {i} | {a} | {b} | {'yes' if a == b else '**no**'} |"
            for i, (a, b) in enumerate(zip(theirs[5:], mine[5:]))
        ],
        "",
    ]
    (out / "generation.md").write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))
    identical = theirs == mine

    inside = look_inside(out, resolve_base(args.base, args.short))
    record(
        7,
        f"family table: {len(family.FAMILIES)} configs | generation: {new_tokens} greedy tokens "
        f"{'identical' if identical else f'differ ({same}/{len(theirs)} equal)'} | "
        f"max logit gap {gap:.1e} | {inside}",
        out,
    )
    return 0 if identical else 1


if __name__ == "__main__":
    raise SystemExit(main())
