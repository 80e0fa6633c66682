"""Week 01 project: a shape table walk-through of one attention call, built from your functions.

Every step of single-layer multi-head self-attention is printed with the expression that made it
and the resulting shape, then saved to reports/week01/shape_table.md.
Run: `python tracker.py project 1` (your code) or `python tracker.py project 1 --impl solutions`.
"""

import math

import torch

from roadmap.impl import load
from roadmap.project import parser, record, setup


def walk_through(
    B: int = 2, T: int = 5, C: int = 12, H: int = 3, seed: int = 0
) -> tuple[list[tuple[str, str, tuple]], float]:
    """Run one attention call step by step; return (rows of (step, expression, shape), max row-sum error)."""
    shapes = load("week01_tensors.shapes")
    masks = load("week01_tensors.masks")
    softmax = load("week01_tensors.softmax")
    g = torch.Generator().manual_seed(seed)
    rows = []

    def step(name: str, expr: str, t: torch.Tensor) -> torch.Tensor:
        rows.append((name, expr, tuple(t.shape)))
        return t

    x = step("input", "x", torch.randn(B, T, C, generator=g))
    pos = step("positions", "P (block of learned rows)", torch.randn(8, C, generator=g))
    x = step("add positions", "add_positions(x, P)", shapes.add_positions(x, pos))
    W = step("qkv weight", "W_qkv", torch.randn(C, 3 * C, generator=g) / math.sqrt(C))
    qkv = step("project", "x @ W_qkv", x @ W)
    q, k, v = (
        step(f"split {n}", f"qkv.split(C, dim=-1)[{i}]", t)
        for i, (n, t) in enumerate(zip("qkv", qkv.split(C, dim=-1)))
    )
    q, k, v = (
        step(f"heads {n}", f"split_heads({n}, H)", shapes.split_heads(t, H))
        for n, t in zip("qkv", (q, k, v))
    )
    D = C // H
    scores = step(
        "scores", "q @ k.transpose(-2, -1) / sqrt(D)", q @ k.transpose(-2, -1) / math.sqrt(D)
    )
    lengths = torch.tensor([T] + [max(1, T - 2)] * (B - 1))
    bias = step(
        "mask", f"attention_bias(lengths={lengths.tolist()}, T)", masks.attention_bias(lengths, T)
    )
    weights = step(
        "weights", "softmax(scores + bias, dim=-1)", softmax.softmax(scores + bias, dim=-1)
    )
    out = step("mix values", "weights @ v", weights @ v)
    out = step("merge heads", "merge_heads(out)", shapes.merge_heads(out))
    step("last token", "gather_last(out, lengths)", shapes.gather_last(out, lengths))
    row_error = (weights.sum(-1) - 1).abs().max().item()
    return rows, row_error


def main(argv: list[str] | None = None) -> int:
    args = parser(1, "Print and save the shape table of one attention call.").parse_args(argv)
    out = setup(1, args)
    B, T, C, H = 2, 5, 12, 3
    rows, row_error = walk_through(B, T, C, H)
    lines = [
        f"# One attention call, step by step (B={B}, T={T}, C={C}, H={H}, D={C // H})",
        "",
        "| step | expression | shape |",
        "|---|---|---|",
        *[f"| {name} | `{expr}` | {tuple(shape)} |" for name, expr, shape in rows],
        "",
    ]
    table = "\n".join(lines)
    print(table)
    (out / "shape_table.md").write_text(table, encoding="utf-8")
    record(
        1, f"shape table: {len(rows)} steps, attention rows sum to 1 within {row_error:.1e}", out
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
