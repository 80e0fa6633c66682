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


def test_dropout_in_training_mode_equals_the_plain_model_under_the_same_seed():
    """dropout=0.2, training mode: with the same seed, model(x, y) and forward_checkpointed(model,
    x, y) draw the same masks in the same order (embedding dropout, then each block's), so logits,
    loss and gradients agree; checkpoint restores the RNG state when it recomputes a block, so
    backward sees the forward's masks again."""
    model = tiny_gpt(seed=10, n_layer=2, dropout=0.2).train()
    x, y = batch(10, B=2, T=8)
    torch.manual_seed(123)
    logits, loss = model(x, y)
    loss.backward()
    expected = grads(model)
    model.zero_grad(set_to_none=True)
    torch.manual_seed(123)
    got_logits, got_loss = mod.forward_checkpointed(model, x, y)
    assert_close(
        got_logits,
        logits.detach(),
        what="forward_checkpointed(GPT(dropout=0.2) in train mode, x, y) vs model(x, y), same seed",
        hint="the same pipeline as GPT.forward, dropout included: the embeddings go through "
        "transformer.drop before the first block",
        atol=1e-5,
    )
    got_loss.backward()
    got = grads(model)
    for name in expected:
        assert_close(
            got.get(name),
            expected[name],
            what=f"forward_checkpointed (dropout=0.2, train mode) then backward: grad of {name}",
            hint="the recomputed block must draw the same dropout masks as the forward pass: "
            "keep checkpoint's preserve_rng_state (the default)",
            atol=1e-5,
            rtol=1e-4,
        )
    assert model.training, "forward_checkpointed switched the model out of training mode"


def test_eval_mode_and_no_targets():
    """A model in eval mode (dropout=0.2 inactive) stays in eval mode and gives model(x)'s logits;
    without targets the loss is None."""
    model = tiny_gpt(seed=11, n_layer=2, dropout=0.2).eval()
    x, _ = batch(11, B=2, T=5)
    expected, _ = model(x)
    got_logits, got_loss = mod.forward_checkpointed(model, x)
    assert not model.training, (
        "forward_checkpointed switched a model in eval mode to training mode\n  likely cause: "
        "leave the model's train/eval mode as it was (no model.train() inside)"
    )
    assert got_loss is None, (
        f"forward_checkpointed(model, x) without targets returned loss {got_loss!r}, expected None"
    )
    assert_close(
        got_logits,
        expected.detach(),
        what="forward_checkpointed(model in eval mode, x) vs model(x)",
        hint="eval mode: dropout off, the same values as model(x)",
        atol=1e-5,
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
