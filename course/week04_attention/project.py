"""Week 04 project: per-head attention heatmaps for one sentence, built from your attention code.

The sentence is split into characters; each character gets a fixed random embedding plus a
position signal. Head 0's query and key projections are set to the identity, so it looks for
earlier copies of the same character; the other heads keep their random weights. The heatmap PNG
and a table of each head's entropy and mean look-back distance go to reports/week04/.
Run: `python tracker.py project 4` (your code) or `python tracker.py project 4 --impl solutions`.
"""

import math

import torch

from roadmap.impl import load
from roadmap.project import parser, record, setup

SENTENCE = "the cat sat on the mat"


def main(argv: list[str] | None = None) -> int:
    p = parser(4, "Draw per-head attention heatmaps for one sentence.")
    p.add_argument("--sentence", default=SENTENCE)
    args = p.parse_args(argv)
    out = setup(4, args)
    attention = load("week04_attention.attention")
    heatmap = load("week04_attention.heatmap")

    text = args.sentence[:16] if args.short else args.sentence
    tokens = list(text)
    T, C, H = len(tokens), 32, 4
    g = torch.Generator().manual_seed(0)
    table = {ch: torch.randn(C, generator=g) for ch in sorted(set(tokens))}
    x = torch.stack([table[ch] for ch in tokens])[None] * 2.0  # (1, T, C)
    torch.manual_seed(0)
    mha = attention.MultiHeadAttention(C, H)
    D = C // H
    with torch.no_grad():  # head 0 compares raw embeddings: the same character scores highest
        for proj in (mha.q_proj, mha.k_proj):
            proj.weight[:D] = 0
            proj.weight[:D, :D] = torch.eye(D)
            proj.bias[:D] = 0
        _, weights = mha(x, mask=torch.ones(T, T, dtype=torch.bool).tril())
    weights = weights[0]  # (H, T, T)
    shown = ["␣" if ch == " " else ch for ch in tokens]
    heatmap.plot_attention(weights, shown, out / "attention_heads.png")

    entropy = -(weights * weights.clamp_min(1e-12).log()).sum(-1).mean(-1)  # (H,)
    distance = (weights * (torch.arange(T)[:, None] - torch.arange(T)[None, :])).sum(-1).mean(-1)
    lines = [
        f"# Attention heads on {text!r} (T={T}, C={C}, H={H}, causal)",
        "",
        "| head | mean entropy (nats) | uniform would be | mean look-back (tokens) |",
        "|---|---|---|---|",
    ]
    uniform = sum(math.log(t + 1) for t in range(T)) / T
    for h in range(H):
        lines.append(f"| {h} | {entropy[h]:.3f} | {uniform:.3f} | {distance[h]:.2f} |")
    (out / "heads.md").write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    record(
        4,
        f"attention heatmaps: {H} heads on {T} tokens, head 0 entropy {entropy[0]:.2f} vs "
        f"uniform {uniform:.2f} nats",
        out,
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
