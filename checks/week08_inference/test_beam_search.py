"""Checks for w08.beam_search: beam search with length normalisation over a generic logits_fn.

Oracles: hand-built next-token tables (greedy vs beam, length penalty), exhaustive search over all
V^n continuations, and transformers' `generate(num_beams=...)` on a GPT2LMHeadModel.
"""

import itertools
import math

import torch

from checks.week08_inference.support import tiny_gpt, to_hf
from roadmap.checking import generator
from roadmap.impl import load

mod = load("week08_inference.beam_search")


def table_fn(table: torch.Tensor):
    """A "model" whose next-token logits depend on the last token only: log of table[last]."""
    logp = table.log()
    return lambda ids: logp[ids[:, -1]]


def test_beam_finds_the_better_path_that_greedy_misses():
    """Tokens 0 (start), A=1, B=2. After 0: A 0.6, B 0.4. After A: flat (0.34, 0.33, 0.33).
    After B: B with 0.9.

    Greedy takes A (0.6) then 0.34: total 0.204. Beam 2 keeps B too: B then B is 0.4 * 0.9 = 0.36.
    """
    table = torch.tensor([[0.0, 0.6, 0.4], [0.34, 0.33, 0.33], [0.05, 0.05, 0.9]]).clamp(min=1e-9)
    fn = table_fn(table)
    prompt = torch.tensor([0])
    greedy = mod.beam_search(fn, prompt, num_beams=1, max_new_tokens=2, length_penalty=0.0)
    assert greedy, (
        "beam_search(num_beams=1, 2 tokens, no EOS) returned no hypotheses; likely cause: after "
        "max_new_tokens steps the alive beams are finished too"
    )
    assert greedy[0][0] == [1, 0], (
        f"beam_search(num_beams=1) is greedy and should give [1, 0], got {greedy[0][0]}"
    )
    best = mod.beam_search(fn, prompt, num_beams=2, max_new_tokens=2, length_penalty=0.0)
    assert best[0][0] == [2, 2], (
        f"beam_search(num_beams=2) should find [2, 2] (p = 0.36 > 0.204), got {best[0][0]}\n"
        "  likely cause: rank all N * V candidates (beam score + next log-prob) together, not the "
        "best token of each beam separately; return the hypotheses sorted best first"
    )
    assert math.isclose(best[0][1], math.log(0.36), rel_tol=1e-6), (
        f"score of [2, 2] with length_penalty 0 should be log 0.36 = {math.log(0.36):.6f}, got {best[0][1]:.6f}"
        "\n  likely cause: each candidate's total is its beam score + next log-prob"
    )


def test_length_penalty_lets_a_longer_hypothesis_win():
    """Token 3 is EOS; the prompt is [0]. p(next | last) rows:
    0: [0.02, 0.45, 0.03, 0.5]; 1: [0.2, 0.05, 0.7, 0.05]; 2: [0.1, 0.1, 0.1, 0.7]; 3: uniform.

    Hypothesis [3]: log 0.5 = -0.693 over 1 token. Hypothesis [1, 2, 3]: log(0.45 * 0.7 * 0.7) =
    -1.512 over 3 tokens. length_penalty 0: -0.693 > -1.512, the short one wins.
    length_penalty 1: -1.512 / 3 = -0.504 > -0.693, the long one wins.
    """
    table = torch.tensor(
        [[0.02, 0.45, 0.03, 0.5], [0.2, 0.05, 0.7, 0.05], [0.1, 0.1, 0.1, 0.7], [0.25] * 4]
    )
    fn = table_fn(table)
    prompt = torch.tensor([0])
    short = mod.beam_search(
        fn, prompt, num_beams=2, max_new_tokens=4, length_penalty=0.0, eos_token_id=3
    )
    long = mod.beam_search(
        fn, prompt, num_beams=2, max_new_tokens=4, length_penalty=1.0, eos_token_id=3
    )
    assert short[0][0] == [3], (
        f"beam_search(length_penalty=0, eos=3) should prefer [3] (-0.693 > -1.512), got {short}\n"
        "  likely cause: return only the NEW tokens (after the prompt), EOS included"
    )
    assert long[0][0] == [1, 2, 3], (
        f"beam_search(length_penalty=1, eos=3) should prefer [1, 2, 3] (-1.512 / 3 = -0.504 > -0.693), got {long}\n"
        "  likely cause: a finished hypothesis scores sum log p / (number of NEW tokens, EOS included) ** length_penalty; "
        "an EOS candidate is finished, never kept alive: the other candidates refill the beams"
    )
    expected = math.log(0.45 * 0.7 * 0.7) / 3
    assert math.isclose(long[0][1], expected, rel_tol=1e-5), (
        f"score of [1, 2, 3]: expected {expected:.6f}, got {long[0][1]:.6f}"
    )


def test_wide_beam_equals_exhaustive_search():
    """V = 4, 3 new tokens, context of two tokens: 64 continuations. With 16 = 4^2 beams no prefix is
    ever dropped, so the 16 results must be the 16 best of all 64, with their exact scores."""
    g = generator(13)
    V = 4
    table = torch.softmax(torch.randn(V, V, V, generator=g) * 2, dim=-1)  # (prev2, prev1) -> next
    logp = table.log()

    def fn(ids):
        return logp[ids[:, -2], ids[:, -1]]

    prompt = torch.tensor([1, 3])
    everything = []
    for seq in itertools.product(range(V), repeat=3):
        ctx, total = [1, 3], 0.0
        for tok in seq:
            total += logp[ctx[-2], ctx[-1], tok].item()
            ctx.append(tok)
        everything.append((list(seq), total / 3**0.7))
    everything.sort(key=lambda h: h[1], reverse=True)
    got = mod.beam_search(fn, prompt, num_beams=16, max_new_tokens=3, length_penalty=0.7)
    assert [h[0] for h in got] == [h[0] for h in everything[:16]], (
        f"beam_search(num_beams=16, V=4, 3 tokens) should return the 16 best of all 64 sequences, best first\n"
        f"  expected {[h[0] for h in everything[:4]]} ...\n  got      {[h[0] for h in got[:4]]} ...\n"
        "  likely cause: keep num_beams candidates per step over all beams, sorted by total log-prob"
    )
    for (seq, score), (_, expected) in zip(got, everything):
        assert math.isclose(score, expected, rel_tol=1e-5), (
            f"score of {seq}: expected {expected:.6f} (sum log p / 3 ** 0.7), got {score:.6f}"
        )


def test_matches_transformers_beam_search():
    model = tiny_gpt(seed=12)
    prompt = torch.randint(0, 23, (5,), generator=generator(12))
    with torch.no_grad():
        got = mod.beam_search(
            lambda ids: model(ids)[0][:, -1], prompt, num_beams=3, max_new_tokens=5
        )
    hf = to_hf(model)
    out = hf.generate(
        prompt[None], attention_mask=torch.ones(1, 5, dtype=torch.long), max_new_tokens=5, do_sample=False,
        num_beams=3, num_return_sequences=3, length_penalty=1.0, output_scores=True, return_dict_in_generate=True,
    )  # fmt: skip
    expected = [seq[5:].tolist() for seq in out.sequences]
    assert [h[0] for h in got] == expected, (
        f"beam_search(num_beams=3, 5 tokens) vs transformers generate(num_beams=3):\n  expected {expected}\n  got      {[h[0] for h in got]}"
    )
    for (seq, score), exp in zip(got, out.sequences_scores.tolist()):
        assert math.isclose(score, exp, rel_tol=1e-4), (
            f"score of {seq}: transformers says {exp:.5f}, got {score:.5f}"
        )


def test_an_eos_ranked_below_the_beam_width_does_not_finish():
    """num_beams=2, EOS = 3. Rows p(next | last): 0: [0, .5, .4, .1]; 1: [0, 0, .02, .98];
    2: [0, 0, .9, .1]. Step 1 keeps [1] and [2]. Step 2 walks the candidates best first:
    [1, 3] .49 (EOS, rank 0: finished), [2, 2] .36 (alive), [2, 3] .04 (EOS, rank 2: below the
    beam width, dropped), [1, 2] .01 (alive). Step 3: [2, 2, 2] .324 alive, [2, 2, 3] .036 (EOS,
    rank 1: finished): two hypotheses, stop. Result [[1, 3], [2, 2, 3]]; counting the rank-2
    [2, 3] as finished would stop after step 2 with [[1, 3], [2, 3]]."""
    table = torch.tensor(
        [[0.0, 0.5, 0.4, 0.1], [0.0, 0.0, 0.02, 0.98], [0.0, 0.0, 0.9, 0.1], [0.25] * 4]
    ).clamp(min=1e-9)
    got = mod.beam_search(
        table_fn(table), torch.tensor([0]), num_beams=2, max_new_tokens=3, eos_token_id=3
    )
    cause = "an EOS candidate finishes a hypothesis only if it ranks among the first num_beams"
    if [h[0] for h in got] == [[1, 3], [2, 2, 2]]:
        cause = (
            "early stopping: stop once num_beams hypotheses have finished ([2, 2, 3] is the second)"
        )
    assert [h[0] for h in got] == [[1, 3], [2, 2, 3]], (
        f"beam_search(num_beams=2, eos=3) should return [[1, 3], [2, 2, 3]], got {got}\n  likely "
        f"cause: {cause}"
    )


def test_early_stopping_once_num_beams_hypotheses_finished():
    """num_beams=1, length_penalty=1. After [0]: EOS 0.5, token 1 0.45. [3] finishes at step 1:
    one hypothesis = num_beams, so the search stops (early_stopping=True) and returns [3], although
    [1, 3] would score (log 0.45 + log 0.99) / 2 = -0.404 > log 0.5 = -0.693."""
    table = torch.tensor(
        [[0.02, 0.45, 0.03, 0.5], [0.003, 0.004, 0.003, 0.99], [0.25] * 4, [0.25] * 4]
    )
    got = mod.beam_search(
        table_fn(table), torch.tensor([0]), num_beams=1, max_new_tokens=3, eos_token_id=3
    )
    assert [h[0] for h in got] == [[3]], (
        f"beam_search(num_beams=1, eos=3) should return [[3]] and stop, got {got}\n  likely cause: "
        "early stopping: stop once num_beams hypotheses have finished"
    )
