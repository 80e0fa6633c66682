"""Checks for w09.accumulation: k micro-batches give the gradients of one batch k times larger.

Oracle: the same model's gradients from `model(x, y)[1].backward()` on the whole (6, 7) batch
(mean-reduced loss), compared parameter by parameter.
"""

import pytest

from roadmap.checking import assert_close
from roadmap.impl import load

from .support import batch, grads, tiny_gpt

mod = load("week09_training.accumulate")


def full_batch(model, x, y):
    model.zero_grad(set_to_none=True)
    _, loss = model(x, y)
    loss.backward()
    out = grads(model)
    model.zero_grad(set_to_none=True)
    return loss.item(), out


def compare(got: dict, expected: dict, k: int) -> None:
    assert set(got) == set(expected), (
        f"accumulate_gradients(k={k}) left gradients on {sorted(got)}, expected {sorted(expected)}"
    )
    for name in expected:
        ratio = (got[name].norm() / expected[name].norm()).item()
        hint = "every chunk must contribute its share: backward loss / micro_batches per chunk"
        if abs(ratio - k) < 0.05 * k and k > 1:
            hint = f"the gradients are {k}x too large: divide each chunk's loss by micro_batches"
        assert_close(
            got[name],
            expected[name],
            what=f"accumulate_gradients(model, x (6, 7), y, micro_batches={k}): grad of {name}",
            hint=hint,
            atol=1e-6,
            rtol=1e-4,
        )


@pytest.mark.parametrize("k", [1, 2, 3, 6])
def test_gradients_equal_one_big_batch(k):
    model = tiny_gpt(seed=3)
    x, y = batch(4, B=6, T=7)
    loss, expected = full_batch(model, x, y)
    got_loss = mod.accumulate_gradients(model, x, y, k)
    compare(grads(model), expected, k)
    assert abs(float(got_loss) - loss) < 1e-5, (
        f"accumulate_gradients(micro_batches={k}) returned {got_loss}, expected the whole "
        f"batch's mean loss {loss:.6f}\n  likely cause: return the mean of the chunks' losses "
        "(not their sum, not the divided losses' sum)"
    )


def test_old_gradients_are_cleared_first():
    """Called twice in a row, the second call leaves the same gradients (grads set to None first)."""
    model = tiny_gpt(seed=5)
    x, y = batch(6, B=4, T=5)
    _, expected = full_batch(model, x, y)
    mod.accumulate_gradients(model, x, y, 2)
    mod.accumulate_gradients(model, x, y, 2)
    got = grads(model)
    name = "transformer.h.0.mlp.c_fc.weight"
    assert_close(
        got[name],
        expected[name],
        what="accumulate_gradients called twice on the same batch: grad of h.0.mlp.c_fc.weight",
        hint="set every .grad to None before the first micro-batch, and only then (not inside "
        "the loop: that keeps only the last chunk)",
        atol=1e-6,
        rtol=1e-4,
    )


def test_indivisible_batch_is_an_error():
    model = tiny_gpt(seed=0)
    x, y = batch(0, B=6, T=5)
    with pytest.raises(ValueError):
        mod.accumulate_gradients(model, x, y, 4)
