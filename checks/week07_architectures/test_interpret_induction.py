"""Checks for w07.induction: `induction_scores` and `repeat_targets`.

Oracles: attention patterns built by hand (a perfect induction head scores 1; a previous-token head,
a head on the earlier copy of the token itself and one on the first copy's queries score 0; a
uniform head scores the mean of 1 / (t + 1) over the repeat's queries), targets derived by hand,
and a GPT with a planted induction head (weights set by hand, see _interpret.induction_gpt) whose
patterns come from running its blocks: block 1 head 0 scores about 1, block 0 head 0 (previous
token) about 0, and the model's loss on the repeat (your `second` targets) is near 0 while on the
first copy it is high.
"""

import torch
import torch.nn.functional as F

from roadmap.checking import assert_close
from roadmap.impl import load

from ._interpret import IND_V, induction_gpt, permuted_repeats

mod = load("week07_architectures.interpret")

KEY = (
    "query t of the repeat (t = half .. 2*half - 1) is read at key t - half + 1, the position "
    "right after the token's first occurrence t - half"
)
QUERIES = (
    "average over the `half` queries of the repeat only (t = half .. 2*half - 1) and over the "
    "batch: the first copy's queries have nothing to look back to"
)


def one_hot_pattern(B: int, H: int, half: int, key_of) -> torch.Tensor:
    """(B, H, T, T): every query t puts weight 1 on key_of(t) (clamped to 0..t)."""
    T = 2 * half
    p = torch.zeros(B, H, T, T)
    for t in range(T):
        p[:, :, t, min(max(key_of(t), 0), t)] = 1.0
    return p


def uniform_pattern(B: int, H: int, T: int) -> torch.Tensor:
    return torch.ones(T, T).tril().div(torch.arange(1, T + 1)[:, None]).expand(B, H, T, T)


def test_a_uniform_head_scores_the_mean_of_one_over_t_plus_one():
    """Docstring example: half = 3, queries 3, 4, 5: (1/4 + 1/5 + 1/6) / 3 = 0.2056."""
    got = mod.induction_scores([uniform_pattern(2, 2, 6)], 3)
    expected = torch.full((1, 2), (1 / 4 + 1 / 5 + 1 / 6) / 3)
    assert_close(
        got,
        expected,
        what="induction_scores([uniform causal pattern (2, 2, 6, 6)], half=3)",
        hint=QUERIES,
    )


def test_a_perfect_induction_head_scores_one_and_a_previous_token_head_zero():
    half = 5
    induction = one_hot_pattern(2, 1, half, lambda t: t - half + 1)
    previous = one_hot_pattern(2, 1, half, lambda t: t - 1)
    duplicate = one_hot_pattern(2, 1, half, lambda t: t - half)
    # block 0: [induction, previous, duplicate]; block 1: [duplicate, induction, previous]
    layers = [
        torch.cat([induction, previous, duplicate], dim=1),
        torch.cat([duplicate, induction, previous], dim=1),
    ]
    got = mod.induction_scores(layers, half)
    expected = torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    assert_close(
        got,
        expected,
        what="induction_scores(2 blocks x [induction, previous-token, duplicate-token], half=5)",
        hint=f"{KEY}; a head on t - 1 or on t - half is not an induction head",
    )


def test_only_the_repeats_queries_count():
    """Weight on 'induction' keys in the first copy (query half - 1 at key 0, ...) scores nothing;
    one query of the repeat missing its key costs exactly 1 / half."""
    half = 4
    p = one_hot_pattern(1, 1, half, lambda t: t - half + 1)  # perfect on the repeat
    p[0, 0, half - 1] = 0.0
    p[0, 0, half - 1, 0] = 1.0  # the first copy's last query, at t - half + 1 = 0
    p[0, 0, 2 * half - 1] = 0.0
    p[0, 0, 2 * half - 1, 2 * half - 1] = 1.0  # the last query looks at itself instead
    got = mod.induction_scores([p], half)
    assert_close(
        got,
        torch.tensor([[1 - 1 / half]]),
        what="induction_scores: perfect except the last query of the repeat, half=4",
        hint=f"{QUERIES}; {KEY}",
    )


def test_scores_average_over_the_batch():
    half = 3
    good = one_hot_pattern(1, 2, half, lambda t: t - half + 1)
    bad = one_hot_pattern(1, 2, half, lambda t: t - 1)
    got = mod.induction_scores([torch.cat([good, good, bad])], half)
    assert_close(
        got,
        torch.full((1, 2), 2 / 3),
        what="induction_scores on a batch of 3 rows (2 induction, 1 previous-token)",
        hint="the mean over the batch rows as well as over the repeat's queries",
    )


def test_a_pattern_that_is_not_a_repeat_of_half_is_refused():
    try:
        mod.induction_scores([uniform_pattern(1, 1, 7)], 3)
    except ValueError:
        return
    raise AssertionError(
        "induction_scores(patterns with T=7, half=3) did not raise ValueError; the docstring "
        "promises it when T != 2 * half (the positions of the repeat would be wrong)"
    )


def test_repeat_targets_by_hand():
    """Docstring example, and a batch of two with half = 4."""
    first, second = mod.repeat_targets(torch.tensor([[5, 1, 7, 5, 1, 7]]), 3)
    assert first.tolist() == [[1, 7, -100, -100, -100, -100]], (
        f"repeat_targets([[5, 1, 7, 5, 1, 7]], 3) first = {first.tolist()}, expected "
        "[[1, 7, -100, -100, -100, -100]]; likely cause: position t holds the NEXT token "
        "tokens[t + 1], for t = 0 .. half - 2 (position half - 1 would predict the repeat's start)"
    )
    assert second.tolist() == [[-100, -100, -100, 1, 7, -100]], (
        f"repeat_targets([[5, 1, 7, 5, 1, 7]], 3) second = {second.tolist()}, expected "
        "[[-100, -100, -100, 1, 7, -100]]; likely cause: positions half .. 2*half - 2 hold "
        "tokens[t + 1]; position half - 1 (its next token r[0] starts the repeat: nothing "
        "announces it) and the last position are -100"
    )
    tokens = torch.tensor([[1, 2, 3, 4, 1, 2, 3, 4], [9, 8, 7, 6, 9, 8, 7, 6]])
    first, second = mod.repeat_targets(tokens, 4)
    n = -100
    assert first.tolist() == [[2, 3, 4, n, n, n, n, n], [8, 7, 6, n, n, n, n, n]], (
        f"repeat_targets(batch of 2, half 4) first = {first.tolist()}"
    )
    assert second.tolist() == [[n, n, n, n, 2, 3, 4, n], [n, n, n, n, 8, 7, 6, n]], (
        f"repeat_targets(batch of 2, half 4) second = {second.tolist()}"
    )
    assert first.dtype == torch.int64 and second.dtype == torch.int64, (
        f"repeat_targets: dtypes {first.dtype}, {second.dtype}; expected int64 (F.cross_entropy)"
    )


def planted_run(batch: int = 3, half: int = 6):
    """(tokens, logits, patterns) of the planted-induction GPT on permuted repeats; the patterns
    are those its attention modules computed (ln_1 of each block's input, recomputed here)."""
    model = induction_gpt()
    tokens = permuted_repeats(batch, half, seed=0)
    patterns = []
    with torch.no_grad():
        x = model.transformer.wte(tokens) + model.transformer.wpe(torch.arange(2 * half))
        for block in model.transformer.h:
            attn, h = block.attn, block.ln_1(x)
            B, T, C = h.shape
            q, k, _ = attn.c_attn(h).split(C, dim=2)
            q = q.view(B, T, 2, C // 2).transpose(1, 2)
            k = k.view(B, T, 2, C // 2).transpose(1, 2)
            scores = (q @ k.transpose(-2, -1)) / (C // 2) ** 0.5
            mask = torch.ones(T, T, dtype=torch.bool).triu(1)
            patterns.append(scores.masked_fill(mask, float("-inf")).softmax(-1))
            x = block(x)
        logits, _ = model(tokens)
    return tokens, logits, patterns


def test_a_planted_induction_head_is_found_in_a_real_model():
    half = 6
    tokens, _, patterns = planted_run(half=half)
    got = mod.induction_scores(patterns, half)
    uniform = sum(1 / (t + 1) for t in range(half, 2 * half)) / half
    assert got[1, 0] > 0.99, (
        f"induction_scores: the planted induction head (block 1, head 0) scores {got[1, 0]:.3f}, "
        f"expected about 1; likely cause: {KEY}"
    )
    assert got[0, 0] < 0.01, (
        f"induction_scores: the previous-token head (block 0, head 0) scores {got[0, 0]:.3f}, "
        f"expected about 0; likely cause: {KEY}"
    )
    assert_close(
        got[:, 1],
        torch.full((2,), uniform),
        what="induction_scores of the planted GPT's uniform heads (head 1 of each block)",
        atol=1e-4,
        hint=QUERIES,
    )


def test_the_repeat_is_predicted_and_the_first_copy_is_not():
    """On the planted GPT (V = 8) the repeat's targets are predicted (loss < 0.1) and the first
    copy's are not (loss > ln 8 / 2): your two halves must pick those positions."""
    half = 6
    tokens, logits, _ = planted_run(half=half)
    first, second = mod.repeat_targets(tokens, half)
    losses = [
        F.cross_entropy(logits.reshape(-1, IND_V), t.reshape(-1), ignore_index=-100).item()
        for t in (first, second)
    ]
    assert losses[1] < 0.1, (
        f"repeat_targets: the planted induction GPT's loss on your `second` targets is "
        f"{losses[1]:.3f}, expected < 0.1 (it copies the repeat); likely cause: second holds "
        "tokens[t + 1] at t = half .. 2*half - 2 only"
    )
    assert losses[0] > 1.04, (
        f"repeat_targets: the loss on your `first` targets is {losses[0]:.3f}, expected high (the "
        "first copy is random); likely cause: first covers t = 0 .. half - 2 only"
    )
