"""Checks for w09.flops: the parameter count, the FLOPs-per-token estimate and MFU.

Oracles: the parameter count of the week-05 GPT and of transformers' GPT2LMHeadModel(GPT2Config())
(built on the meta device: no memory, no init); a matmul-by-matmul FLOPs count (the handout's
derivation): forward per token = n_layer * (24 C^2 + 4 T C) + 2 C V, training = 3x forward; the
estimate 6N + 12 L C T must be within 2% of it.
"""

import pytest
import torch

from roadmap.impl import load
from solutions.week05_gpt.model import GPT, GPTConfig

mod = load("week09_training.flops")

CONFIGS = [
    GPTConfig(block_size=1024, vocab_size=50257, n_layer=12, n_head=12, n_embd=768, bias=True),
    GPTConfig(block_size=64, vocab_size=65, n_layer=4, n_head=4, n_embd=128, bias=False),
    GPTConfig(block_size=37, vocab_size=301, n_layer=3, n_head=3, n_embd=36, bias=True),
    GPTConfig(block_size=2048, vocab_size=50304, n_layer=24, n_head=16, n_embd=1024, bias=False),
]


def counted(config: GPTConfig) -> int:
    with torch.device("meta"):
        return sum(p.numel() for p in GPT(config).parameters())


def test_gpt2_124m_matches_transformers():
    """GPT2LMHeadModel(GPT2Config()) has 124,439,808 parameters (tied head counted once)."""
    got = mod.count_params(
        mod.gpt2_124m_config()
    )  # the learner's first: transformers takes seconds
    from transformers import GPT2Config, GPT2LMHeadModel

    with torch.device("meta"):
        expected = sum(p.numel() for p in GPT2LMHeadModel(GPT2Config()).parameters())
    assert got == expected, (
        f"count_params(gpt2_124m_config()) = {got:,}, GPT2LMHeadModel(GPT2Config()) has "
        f"{expected:,} (difference {got - expected:+,})\n  likely cause: the head is tied to wte "
        "(count it once); wpe is T*C; each block has 12 C^2 + 13 C with biases (the MLP is 4C "
        "wide); ln_f 2C"
    )


@pytest.mark.parametrize("config", CONFIGS, ids=lambda c: f"L{c.n_layer}C{c.n_embd}b{c.bias}")
def test_count_matches_the_model(config):
    got, expected = mod.count_params(config), counted(config)
    assert got == expected, (
        f"count_params({config}) = {got:,}, the week-05 GPT has {expected:,} (difference "
        f"{got - expected:+,})\n  likely cause: with bias=False there are no Linear biases and "
        "LayerNorm has a weight only (C, not 2C); the MLP is 4C wide; the head is tied"
    )


def matmul_flops(c: GPTConfig) -> float:
    forward = c.n_layer * (24 * c.n_embd**2 + 4 * c.block_size * c.n_embd)
    forward += 2 * c.n_embd * c.vocab_size
    return 3 * forward


@pytest.mark.parametrize(
    "config", [c for c in CONFIGS if c.n_embd >= 128], ids=lambda c: f"L{c.n_layer}C{c.n_embd}"
)
def test_flops_within_2_percent_of_the_matmul_count(config):
    got, hand = mod.flops_per_token(config), matmul_flops(config)
    assert abs(got / hand - 1) < 0.02, (
        f"flops_per_token({config}) = {got:,.0f}, the matmul-by-matmul count is {hand:,.0f} "
        f"(ratio {got / hand:.3f})\n  likely cause: training is 6 FLOPs per parameter per token "
        "(forward 2 + backward 4) plus the attention term 12 * n_layer * n_embd * block_size"
    )


def test_gpt2_124m_flops_known_answer():
    """6 * 123,653,376 + 12 * 12 * 768 * 1024 = 855,166,464 (the docstring's worked answer)."""
    got = mod.flops_per_token(mod.gpt2_124m_config())
    assert abs(got - 855_166_464) < 1, (
        f"flops_per_token(gpt2_124m_config()) = {got:,.0f}, expected 855,166,464\n  likely "
        "cause: N leaves out the position table only (wte is the head's matmul)"
    )


def test_mfu_worked_example():
    """855e6 FLOPs/token x 100,000 tokens/s on 989e12 FLOP/s -> 0.08645 (a fraction, not %)."""
    got = mod.mfu(855e6, 100_000, 989e12)
    assert abs(got - 855e6 * 1e5 / 989e12) < 1e-9, (
        f"mfu(855e6, 100000, 989e12) = {got}, expected 0.08645\n  likely cause: achieved FLOP/s "
        "(flops per token x tokens/s) over the peak, as a fraction between 0 and 1"
    )
