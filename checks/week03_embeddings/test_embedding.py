"""Checks for w03.embedding: Embedding lookup and learned positional embeddings.

Oracle: torch.nn.Embedding with copied weights (outputs and gradients), computed before the
from-scratch guard switches torch's embedding functions off; one-hot matrix products.
"""

from functools import partial

import pytest
import torch
import torch.nn.functional as F

from roadmap.checking import assert_close, from_scratch, generator
from roadmap.impl import load

mod = load("week03_embeddings.embedding")

LIBRARY = ("torch.nn.functional.embedding", "torch.embedding", "torch.nn.Embedding.forward")


run = partial(
    from_scratch,
    forbid=LIBRARY,
    exercise="w03.embedding",
    instead="indexing the weight matrix with the ids (weight[ids])",
)


def test_lookup_known_answer():
    emb = mod.Embedding(3, 2)
    with torch.no_grad():
        emb.weight.copy_(torch.tensor([[0.0, 1.0], [2.0, 3.0], [4.0, 5.0]]))
    got = run(emb, torch.tensor([[2, 0]]))
    assert_close(
        got,
        torch.tensor([[[4.0, 5.0], [0.0, 1.0]]]),
        what="Embedding lookup of [[2, 0]] in [[0, 1], [2, 3], [4, 5]]",
        hint="id i returns row i of the weight: index the table with the id tensor",
    )


@pytest.mark.parametrize("shape", [(7,), (3, 5), (2, 3, 4), (1, 1)])
def test_matches_nn_embedding_outputs_and_gradients(shape):
    V, C = 11, 6
    g = generator(sum(shape))
    ref = torch.nn.Embedding(V, C)
    emb = mod.Embedding(V, C)
    with torch.no_grad():
        emb.weight.copy_(ref.weight)
    idx = torch.randint(0, V, shape, generator=g)
    upstream = torch.randn(*shape, C, generator=g)
    expected = ref(idx)
    (expected * upstream).sum().backward()
    got = run(emb, idx)
    assert_close(
        got,
        expected,
        what=f"Embedding({V}, {C}) on idx {shape}",
        hint="output shape is idx.shape + (C,)",
    )
    assert got.requires_grad, (
        "Embedding output does not require grad: the lookup must index the Parameter itself "
        "(no .detach(), .data or torch.no_grad()), or the table never trains"
    )
    (got * upstream).sum().backward()
    assert_close(
        emb.weight.grad,
        ref.weight.grad,
        what=f"gradient of Embedding weight for idx {shape}",
        hint="keep the lookup differentiable (index the Parameter itself, no .data or .detach()); "
        "a row used twice must receive the sum of both upstream gradients",
    )


def test_lookup_equals_one_hot_matmul():
    V, C = 9, 5
    emb = mod.Embedding(V, C)
    idx = torch.randint(0, V, (4, 6), generator=generator(3))
    expected = F.one_hot(idx, V).float() @ emb.weight.detach()
    assert_close(run(emb, idx), expected, what="Embedding(idx) vs one_hot(idx) @ weight")


def test_unused_rows_get_no_gradient():
    emb = mod.Embedding(6, 3)
    run(emb, torch.tensor([1, 4, 4])).sum().backward()
    grad_rows = emb.weight.grad.abs().sum(1)
    assert grad_rows[[0, 2, 3, 5]].eq(0).all() and torch.equal(
        grad_rows[[1, 4]], torch.tensor([3.0, 6.0])
    ), (
        f"after looking up ids [1, 4, 4] and summing, row gradients |g| sums are {grad_rows.tolist()}; "
        "expected [0, 3, 0, 0, 6, 0]: only used rows get gradient, row 4 twice"
    )


def test_learned_positions_add_row_t_to_position_t():
    B, T, C, block = 3, 5, 4, 8
    pos = mod.LearnedPositionalEmbedding(block, C)
    x = torch.randn(B, T, C, generator=generator(1))
    got = pos(x)
    expected = torch.stack(
        [torch.stack([x[b, t] + pos.weight[t] for t in range(T)]) for b in range(B)]
    )
    assert_close(
        got,
        expected.detach(),
        what=f"LearnedPositionalEmbedding({block}, {C})(x (3, 5, 4))",
        hint="add weight[:T] (one row per position), broadcast over the batch",
    )
    got.sum().backward()
    assert pos.weight.grad[T:].eq(0).all() and pos.weight.grad[:T].eq(B).all(), (
        "only rows 0..T-1 of the position table should get gradient (B each per channel)"
    )


def test_learned_positions_accept_a_full_block():
    """T == block_size is the longest sequence the table covers: accepted, every row used."""
    pos = mod.LearnedPositionalEmbedding(4, 2)
    try:
        got = pos(torch.zeros(2, 4, 2))
    except ValueError as e:
        raise AssertionError(
            f"LearnedPositionalEmbedding(block_size=4) refused T=4 ({e}); T == block_size is "
            "allowed, only T > block_size raises"
        ) from None
    assert_close(
        got,
        pos.weight.detach().expand(2, 4, 2),
        what="LearnedPositionalEmbedding(4, 2)(zeros (2, 4, 2))",
        hint="with T == block_size every row weight[0..block_size-1] is added",
    )


def test_learned_positions_reject_too_long_sequences():
    pos = mod.LearnedPositionalEmbedding(4, 2)
    try:
        out = pos(torch.zeros(1, 5, 2))
    except ValueError as e:
        info = pytest.ExceptionInfo.from_exc_info((type(e), e, e.__traceback__))
    except NotImplementedError:
        raise
    except Exception as e:
        raise AssertionError(
            f"T=5 > block_size=4 raised {type(e).__name__}({e}); expected a ValueError naming "
            "both numbers (check T > self.block_size before indexing)"
        ) from None
    else:
        raise AssertionError(
            f"LearnedPositionalEmbedding(block_size=4) accepted T=5 and returned shape "
            f"{tuple(out.shape)}; T > block_size must raise ValueError naming both numbers"
        )
    assert "5" in str(info.value) and "4" in str(info.value), (
        f"the error for T=5 > block_size=4 should name both numbers, got {str(info.value)!r}"
    )
