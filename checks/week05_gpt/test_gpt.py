"""Checks for w05.gpt: GPT-2 init, the forward pass and its loss, causality, overfitting one batch,
and logits equal to transformers' GPT2LMHeadModel with copied weights."""

import math

import pytest
import torch
import torch.nn.functional as F

from roadmap.checking import assert_close, generator, to_hf_gpt2
from roadmap.impl import load

model = load("week05_gpt.model")

SMALL = dict(block_size=16, vocab_size=37, n_layer=2, n_head=4, n_embd=32)


def make(seed: int = 0, **overrides) -> torch.nn.Module:
    torch.manual_seed(seed)
    return model.GPT(model.GPTConfig(**{**SMALL, **overrides}))


def test_init_follows_gpt2():
    """GPT-2 init: weights N(0, 0.02), c_proj weights N(0, 0.02 / sqrt(2 n_layer)), biases 0,
    LayerNorm weight 1. With n_layer=4 the c_proj std is 0.02 / sqrt(8) = 0.00707. Each std is
    estimated from >= 4096 numbers (relative error ~1%), so a 15% band never fails by chance."""
    gpt = make(n_layer=4, n_embd=64, vocab_size=101)
    for name, p in gpt.named_parameters():
        if name.endswith("bias"):
            assert p.abs().max() == 0, (
                f"GPT init: {name} should start at 0, has max |x| {p.abs().max():.3g}"
            )
        elif ".ln_" in name or "ln_f" in name:
            assert (p == 1).all(), f"GPT init: LayerNorm weight {name} should start at 1"
        else:
            expected = 0.02 / math.sqrt(2 * 4) if name.endswith("c_proj.weight") else 0.02
            std = p.std().item()
            assert abs(std - expected) < 0.15 * expected, (
                f"GPT init: {name} has std {std:.5f}, expected {expected:.5f}; likely cause: "
                + (
                    "scale residual projections (c_proj) by 1/sqrt(2 * n_layer)"
                    if name.endswith("c_proj.weight")
                    else "normal_(std=0.02) for every Linear and Embedding weight"
                )
            )
    assert gpt.lm_head.weight is gpt.transformer.wte.weight, "the head must stay tied to wte"


def test_initial_loss_is_near_ln_vocab():
    """Small init makes the logits nearly equal, so the first loss is about ln(V) = ln(37) = 3.611.
    (Targets are drawn apart from the inputs: with a tied head, target == input scores higher.)"""
    gpt = make()
    g = generator(1)
    idx = torch.randint(0, 37, (4, 16), generator=g)
    _, loss = gpt(idx, torch.randint(0, 37, (4, 16), generator=g))
    assert abs(loss.item() - math.log(37)) < 0.1, (
        f"GPT(...)(idx, targets) at init: loss {loss.item():.3f}, expected about ln 37 = 3.611; "
        "likely cause: weights not initialised with std 0.02 (nn.Embedding's default is std 1)"
    )


@pytest.mark.parametrize("B,T", [(1, 1), (3, 7), (2, 16)])
def test_loss_is_cross_entropy_over_all_positions(B, T):
    gpt = make().eval()
    g = generator(B * T)
    idx = torch.randint(0, 37, (B, T), generator=g)
    targets = torch.randint(0, 37, (B, T), generator=g)
    targets[0, 0] = -100  # ignored position
    logits, loss = gpt(idx, targets)
    assert tuple(logits.shape) == (B, T, 37), (
        f"GPT forward: logits should be (B, T, V) = {(B, T, 37)} for every position, got {tuple(logits.shape)}"
    )
    expected = F.cross_entropy(logits.reshape(-1, 37), targets.reshape(-1), ignore_index=-100)
    assert_close(
        loss,
        expected,
        what=f"GPT loss for (B, T) = {(B, T)}",
        hint="F.cross_entropy over (B*T, V) with ignore_index=-100",
    )
    none_logits, none_loss = gpt(idx)
    assert none_loss is None, "GPT(idx) without targets must return (logits, None)"


def test_future_tokens_do_not_change_earlier_logits():
    gpt = make(3).eval()
    g = generator(2)
    idx = torch.randint(0, 37, (2, 12), generator=g)
    changed = idx.clone()
    changed[:, 8:] = torch.randint(0, 37, (2, 4), generator=g)
    a, _ = gpt(idx)
    b, _ = gpt(changed)
    assert_close(
        b[:, :8],
        a[:, :8],
        atol=1e-6,
        what="GPT logits at positions 0..7 after changing tokens 8..11",
        hint="attention must be causal; positions must come from torch.arange(T)",
    )
    assert (a[:, 8:] - b[:, 8:]).abs().max() > 1e-4, (
        "changing tokens 8..11 should change the logits there"
    )


def test_overfits_one_tiny_batch():
    """A model that can learn memorises one batch of 2 x 8 tokens: AdamW(lr=1e-2), 60 steps. The
    reference reaches 0.004 in 0.4 s on one core."""
    gpt = make(4, n_head=2)
    idx = torch.randint(0, 37, (2, 9), generator=generator(3))
    x, y = idx[:, :-1], idx[:, 1:]
    opt = torch.optim.AdamW(gpt.parameters(), lr=1e-2)
    for _ in range(60):
        _, loss = gpt(x, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.1, (
        f"after 60 AdamW steps on one batch the loss is {loss.item():.3f}, expected < 0.1; likely "
        "cause: a branch not added to the residual stream, ln_f or the head skipped, no position "
        "embeddings, or the loss "
        "computed on shifted/flattened targets the wrong way"
    )


def test_logits_equal_transformers_gpt2_with_copied_weights():
    """Oracle: HF's GPT2LMHeadModel. Same names, so a key-by-key copy; Conv1D weights are (in, out)."""
    pytest.importorskip("transformers", reason="needs extra hf")
    gpt = make(5, block_size=24, n_layer=3, n_head=3, n_embd=48).eval()
    hf = to_hf_gpt2(gpt.state_dict(), vocab_size=37, block_size=24, n_layer=3, n_head=3, n_embd=48)
    idx = torch.randint(0, 37, (3, 23), generator=generator(6))
    with torch.no_grad():
        ours, _ = gpt(idx)
        theirs = hf(idx).logits
    assert_close(
        ours,
        theirs,
        atol=1e-5,
        what="GPT logits vs GPT2LMHeadModel with the same weights",
        hint="token + position embeddings (torch.arange(T)), pre-LN blocks, ln_f, tied lm_head; GELU tanh; LayerNorm eps 1e-5",
    )


def test_full_window_is_accepted_and_a_longer_one_refused():
    """Boundary: T == block_size (16) is a valid input; T = 17 has no position embedding and must
    be refused with an error, never silently truncated or wrapped."""
    gpt = make(6).eval()
    idx = torch.randint(0, 37, (2, 17), generator=generator(8))
    try:
        logits, _ = gpt(idx[:, :16])
    except Exception as e:  # noqa: BLE001 - report what the learner's code raised
        raise AssertionError(
            f"GPT refused T == block_size == 16 ({type(e).__name__}: {e}); likely cause: the "
            "length test is T < block_size, it should be T <= block_size"
        ) from e
    assert tuple(logits.shape) == (2, 16, 37), f"logits {tuple(logits.shape)} for T == block_size"
    with pytest.raises((AssertionError, ValueError, IndexError, RuntimeError)):
        gpt(idx)
