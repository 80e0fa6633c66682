"""Checks for w09.schedule: lr_at against closed-form tables worked out by hand.

Table A (max_lr=6e-4, min_lr=6e-5, warmup_steps=10, max_steps=110) is the docstring's example.
Table B (max_lr=1, min_lr=0.1, warmup_steps=3, max_steps=13):
    warmup: step 0 -> 1/3, 1 -> 2/3, 2 -> 1; cosine p = (step - 3) / 10: step 3 -> 1,
    step 8 (p = 0.5) -> 0.1 + 0.5 * 0.9 = 0.55, step 13 -> 0.1; floor: 14, 20 -> 0.1.
"""

import math

import pytest

from roadmap.impl import load

mod = load("week09_training.schedule")

A = dict(max_lr=6e-4, min_lr=6e-5, warmup_steps=10, max_steps=110)
B = dict(max_lr=1.0, min_lr=0.1, warmup_steps=3, max_steps=13)
HINTS = {
    "warmup": "warmup is max_lr * (step + 1) / warmup_steps: step 0 already has lr > 0 and step "
    "warmup_steps - 1 reaches max_lr (off by one?)",
    "start": "the cosine starts after the warmup: p = (step - warmup_steps) / (max_steps - "
    "warmup_steps), so lr = max_lr at step warmup_steps",
    "cosine": "cosine: min_lr + 0.5 * (1 + cos(pi * p)) * (max_lr - min_lr), with p measured "
    "from the end of the warmup",
    "floor": "the floor: lr = min_lr at max_steps and for every step after it",
}
TABLE = [
    (A, 0, 6e-5, "warmup"),
    (A, 4, 3e-4, "warmup"),
    (A, 9, 6e-4, "warmup"),
    (A, 10, 6e-4, "start"),
    (A, 60, 3.3e-4, "cosine"),
    (A, 85, 6e-5 + 0.5 * (1 + math.cos(0.75 * math.pi)) * 5.4e-4, "cosine"),
    (A, 110, 6e-5, "floor"),
    (A, 1000, 6e-5, "floor"),
    (B, 0, 1 / 3, "warmup"),
    (B, 1, 2 / 3, "warmup"),
    (B, 2, 1.0, "warmup"),
    (B, 3, 1.0, "start"),
    (B, 8, 0.55, "cosine"),
    (B, 13, 0.1, "floor"),
    (B, 14, 0.1, "floor"),
    (B, 20, 0.1, "floor"),
]


@pytest.mark.parametrize("kw, step, expected, part", TABLE)
def test_closed_form_table(kw, step, expected, part):
    got = mod.lr_at(step, **kw)
    assert math.isclose(got, expected, rel_tol=1e-9, abs_tol=1e-12), (
        f"lr_at({step}, max_lr={kw['max_lr']}, min_lr={kw['min_lr']}, "
        f"warmup_steps={kw['warmup_steps']}, max_steps={kw['max_steps']}) = {got!r}, expected "
        f"{expected!r} ({part})\n  likely cause: {HINTS[part]}"
    )


def test_no_warmup_starts_at_max_lr():
    """warmup_steps=0: step 0 is the start of the cosine, lr = max_lr; step 5 of 10 is the middle."""
    got = [mod.lr_at(s, 2.0, 0.0, 0, 10) for s in (0, 5, 10)]
    expected = [2.0, 1.0, 0.0]
    assert all(math.isclose(g, e, abs_tol=1e-12) for g, e in zip(got, expected)), (
        f"lr_at(step, 2.0, 0.0, warmup_steps=0, max_steps=10) at steps 0, 5, 10 = {got}, expected "
        f"{expected}\n  likely cause: {HINTS['start']}"
    )


def test_shape_rises_then_falls_and_stays_at_the_floor():
    """Non-decreasing through the warmup, non-increasing after, never below min_lr."""
    lrs = [mod.lr_at(s, 1.0, 0.1, 7, 50) for s in range(80)]
    assert all(a <= b for a, b in zip(lrs[:7], lrs[1:8])), (
        f"lr_at over the warmup (7 steps) is not rising: {lrs[:8]}\n  likely cause: "
        f"{HINTS['warmup']}"
    )
    assert all(a >= b - 1e-15 for a, b in zip(lrs[7:], lrs[8:])), (
        f"lr_at after the warmup rises again somewhere: {[round(x, 4) for x in lrs[7:]]}\n  "
        f"likely cause: {HINTS['floor']}"
    )
    assert min(lrs) >= 0.1 - 1e-12, (
        f"lr_at goes below min_lr=0.1: min {min(lrs)}\n  likely cause: {HINTS['floor']}"
    )
