"""Checks for w09.activation_checkpointing: same values and gradients as the plain forward pass,
each block's forward run twice per training step, fewer tensors kept for backward.

Oracles: the week-05 GPT's own forward (model(idx, targets)) and its gradients; forward hooks that
count block calls; torch.autograd.graph.saved_tensors_hooks that add up the bytes autograd keeps.
"""

import torch

from roadmap.checking import assert_close
from roadmap.impl import load

from .support import batch, grads, tiny_gpt

mod = load("week09_training.activation_checkpoint")


def test_values_and_gradients_equal_the_plain_model():
    model = tiny_gpt(seed=7, n_layer=3)
    x, y = batch(7, B=3, T=9)
    y[0, :2] = -100  # ignored targets
    logits, loss = model(x, y)
    loss.backward()
    expected = grads(model)
    model.zero_grad(set_to_none=True)
    got_logits, got_loss = mod.forward_checkpointed(model, x, y)
    assert_close(
        got_logits,
        logits.detach(),
        what="forward_checkpointed(model, x (3, 9), y): logits",
        hint="the same pipeline as GPT.forward: wte + wpe (positions 0..T-1), dropout, every "
        "block, ln_f, lm_head",
        atol=1e-5,
    )
    assert abs(got_loss.item() - loss.item()) < 1e-5, (
        f"forward_checkpointed loss {got_loss.item()}, expected {loss.item()}"
    )
    got_loss.backward()
    got = grads(model)
    missing = sorted(set(expected) - set(got))
    assert not missing, (
        f"forward_checkpointed: after backward no gradient for {missing[:4]}\n  likely cause: "
        "do not detach the block input or run checkpoint under no_grad; the graph must reach "
        "the embeddings"
    )
    for name in expected:
        assert_close(
            got[name],
            expected[name],
            what=f"forward_checkpointed(...).backward(): grad of {name}",
            hint="checkpointing changes memory, not values: same gradients as the plain model",
            atol=1e-5,
            rtol=1e-4,
        )


def test_each_block_runs_twice_per_training_step():
    """Forward pre-hooks count calls: a checkpointed block runs in the forward pass and once more in
    backward (recomputation); without checkpointing it would run once. (Pre-hooks, because the
    recomputation may stop early, once it has every tensor backward needs.)"""
    model = tiny_gpt(seed=8, n_layer=2)
    x, y = batch(8, B=2, T=6)
    calls = [0] * len(model.transformer.h)
    for i, block in enumerate(model.transformer.h):
        block.register_forward_pre_hook(lambda m, a, i=i: calls.__setitem__(i, calls[i] + 1))
    _, loss = mod.forward_checkpointed(model, x, y)
    loss.backward()
    assert calls == [2] * len(calls), (
        f"forward_checkpointed + backward: block forward calls {calls}, expected 2 each\n  likely "
        "cause: run every block through torch.utils.checkpoint.checkpoint(block, x, "
        "use_reentrant=False), which recomputes it during backward"
    )


def saved_bytes(fn) -> int:
    total = 0

    def pack(t):
        nonlocal total
        total += t.numel() * t.element_size()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        fn()
    return total


def test_fewer_activations_are_kept():
    """Bytes autograd keeps for backward (B=4, T=16, 4 layers): checkpointed < half of plain."""
    model = tiny_gpt(seed=9, n_layer=4, block_size=16)
    x, y = batch(9, B=4, T=16)
    plain = saved_bytes(lambda: model(x, y))
    ckpt = saved_bytes(lambda: mod.forward_checkpointed(model, x, y))
    assert ckpt < plain / 2, (
        f"forward_checkpointed kept {ckpt:,} bytes for backward, the plain forward {plain:,}\n  "
        "likely cause: the blocks are not checkpointed (torch.utils.checkpoint.checkpoint)"
    )
