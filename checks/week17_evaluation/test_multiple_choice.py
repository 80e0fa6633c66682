"""Checks for w17.multiple_choice: encode_pair, loglikelihoods and mc_metrics.

Oracles: known answers on a word-level toy tokenizer and a bigram table whose log-probabilities are
powers of 1/2 (derivations in the docstrings); one-request-at-a-time scoring of a tiny week-05 GPT
written in the check; acc / acc_norm by hand. The lm-eval comparison lives in test_lm_eval.py.
"""

import math
import re

import torch
import torch.nn.functional as F

from checks.week17_evaluation.support import tiny_gpt
from roadmap.checking import generator
from roadmap.impl import load

mod = load("week17_evaluation.multiple_choice")


def word_encoder():
    """A toy tokenizer: pieces are ` ?\\S+` (a word with its leading space) or runs of spaces."""
    vocab: dict[str, int] = {}

    def encode(s: str) -> list[int]:
        return [vocab.setdefault(p, len(vocab)) for p in re.findall(r" ?\S+| +", s)]

    return encode, vocab


def test_encode_pair_moves_the_trailing_space_to_the_continuation():
    """("Answer: ", "yes"): the context is encoded as "Answer:" = [Answer:], the continuation is
    what encode("Answer: yes") = [Answer:, " yes"] adds: [" yes"], one word token."""
    encode, vocab = word_encoder()
    ctx, cont = mod.encode_pair(encode, "Answer: ", "yes")
    assert ctx == [vocab["Answer:"]] and cont == [vocab[" yes"]], (
        f"encode_pair(words, 'Answer: ', 'yes') = ({ctx}, {cont}), expected "
        f"([{vocab['Answer:']}], [{vocab[' yes']}]) with vocab {vocab}\n  likely cause: move the "
        "context's trailing spaces to the front of the continuation, then encode context + "
        "continuation as one string"
    )


def test_encode_pair_takes_the_continuation_from_the_joint_encoding():
    """A character encoder that merges "ab" into id 9. Context "x ", continuation "ab b": the
    space moves, whole "x ab b" = [x, " ", ab, " ", b] = [0, 1, 9, 1, 2], context "x" = [0], so the
    continuation is [1, 9, 1, 2]. Context "xa", continuation "b": whole "xab" = [x, ab] = [0, 9],
    context [0, 3]: the continuation is whole[2:] = [] (lm-eval's rule, boundary inside a token)."""

    def encode(s: str) -> list[int]:
        ids, i = [], 0
        table = {"x": 0, " ": 1, "b": 2, "a": 3}
        while i < len(s):
            if s.startswith("ab", i):
                ids.append(9)
                i += 2
            else:
                ids.append(table[s[i]])
                i += 1
        return ids

    ctx, cont = mod.encode_pair(encode, "x ", "ab b")
    assert (ctx, cont) == ([0], [1, 9, 1, 2]), (
        f"encode_pair(merging encoder, 'x ', 'ab b') = ({ctx}, {cont}), expected ([0], [1, 9, 1, "
        "2])\n  likely cause: the trailing space belongs to the continuation, and the continuation "
        "ids are encode(context + continuation)[len(encode(context)):]"
    )
    ctx, cont = mod.encode_pair(encode, "xa", "b")
    assert (ctx, cont) == ([0, 3], []), (
        f"encode_pair(merging encoder, 'xa', 'b') = ({ctx}, {cont}), expected ([0, 3], [])\n"
        "  likely cause: the continuation is encode(context + continuation)[len(encode(context)):], "
        "not encode(continuation)"
    )


def bigram_fn(x: torch.Tensor) -> torch.Tensor:
    """After token 0 the next token has probabilities [1/2, 1/4, 1/8, 1/8]; after any other token
    it is uniform (1/4 each). Logits = log-probabilities."""
    after0 = torch.tensor([0.5, 0.25, 0.125, 0.125]).log()
    uniform = torch.full((4,), 0.25).log()
    return torch.where((x == 0)[..., None], after0, uniform)


def test_loglikelihoods_known_answer_scores_only_the_continuation():
    """Request ([1, 0], [0, 2]): p(0 | 0) = 1/2, p(2 | 0) = 1/8 -> log(1/16). The context's own
    token 0 (after 1, p = 1/4) is not scored. ([2], [3]): p(3 | 2) = 1/4 -> log(1/4).
    ([0, 0, 0], [1]): p(1 | 0) = 1/4."""
    requests = [([1, 0], [0, 2]), ([2], [3]), ([0, 0, 0], [1])]
    expected = [math.log(1 / 16), math.log(1 / 4), math.log(1 / 4)]
    got = mod.loglikelihoods(bigram_fn, requests, batch_size=2)
    assert len(got) == 3 and all(math.isclose(g, e, abs_tol=1e-6) for g, e in zip(got, expected)), (
        f"loglikelihoods(bigram, {requests}) = {got}, expected {expected}\n  likely cause: sum "
        "only the continuation's tokens, each predicted by the position before it; do not score "
        "the context tokens; in a batch, pad on the right"
    )


def one_by_one(model, ctx: list[int], cont: list[int]) -> float:
    """The oracle: run context + continuation alone, sum log p of each continuation token."""
    full = torch.tensor(ctx + cont)
    with torch.no_grad():
        logp = F.log_softmax(model(full[None, :-1])[0][0], -1)
    return sum(logp[len(ctx) - 1 + i, tok].item() for i, tok in enumerate(cont))


def test_loglikelihoods_match_one_by_one_scoring_in_any_batch_size():
    """Seven requests of odd lengths on a tiny GPT; batches of 1, 3 and 8 and pad ids 0 and 5
    must all equal the unpadded one-request oracle (right padding is invisible to a causal model)."""
    model = tiny_gpt(5)
    g = generator(6)
    requests = []
    for n_ctx, n_cont in [(3, 1), (5, 4), (1, 2), (7, 3), (2, 6), (4, 1), (6, 5)]:
        ctx = torch.randint(0, 29, (n_ctx,), generator=g).tolist()
        cont = torch.randint(0, 29, (n_cont,), generator=g).tolist()
        requests.append((ctx, cont))
    expected = [one_by_one(model, c, k) for c, k in requests]
    for batch_size, pad_id in [(1, 0), (3, 5), (8, 0)]:
        got = mod.loglikelihoods(lambda x: model(x)[0], requests, batch_size, pad_id)
        bad = [
            i for i, (a, b) in enumerate(zip(got, expected)) if not math.isclose(a, b, abs_tol=1e-4)
        ]
        assert len(got) == 7 and not bad, (
            f"loglikelihoods(tiny GPT, 7 requests, batch_size={batch_size}, pad_id={pad_id}) "
            f"differs from one-by-one scoring at requests {bad}: got {got}, expected {expected}\n"
            "  likely cause: pad on the RIGHT and read each row's continuation at positions "
            "len(ctx) - 1 .. len(ctx) + len(cont) - 2 of its own input, not of the padded row"
        )


def test_loglikelihoods_batches_of_batch_size_padded_with_pad_id_to_their_own_longest():
    """Five requests with inputs of lengths 3, 7, 2, 4 and 5, batch_size 2, pad_id 28: the model
    is called three times, on (2, 7), (2, 4) and (1, 5) batches, each right-padded with 28 to the
    longest input of its own batch (the docstring's batching; results are checked elsewhere)."""
    model = tiny_gpt(7)
    g = generator(8)
    requests = []
    for n_ctx, n_cont in [(2, 2), (5, 3), (1, 2), (3, 2), (4, 2)]:
        ctx = torch.randint(0, 28, (n_ctx,), generator=g).tolist()
        cont = torch.randint(0, 28, (n_cont,), generator=g).tolist()
        requests.append((ctx, cont))
    calls = []

    def recording(x):
        calls.append(x.clone())
        return model(x)[0]

    mod.loglikelihoods(recording, requests, batch_size=2, pad_id=28)
    shapes = [tuple(c.shape) for c in calls]
    assert shapes == [(2, 7), (2, 4), (1, 5)], (
        f"loglikelihoods(5 requests with inputs of 3, 7, 2, 4, 5 tokens, batch_size=2) called the "
        f"model with shapes {shapes}, expected [(2, 7), (2, 4), (1, 5)]\n  likely cause: run "
        "batch_size requests at a time, each batch padded to ITS longest input (ctx + cont)[:-1]"
    )
    pads = [(c == 28).sum().item() for c in calls]
    assert pads == [4, 2, 0], (
        f"loglikelihoods(..., pad_id=28): the batches hold {pads} padding ids 28, expected "
        "[4, 2, 0]\n  likely cause: pad with the pad_id given, after the real tokens"
    )


def test_mc_metrics_known_answers():
    cases = [
        # docstring example: acc picks -4 (choice 0); per char -2.0 vs -1.0 picks choice 1
        (
            ([-4.0, -6.0], ["ab", "abcdef"], 1),
            {"acc": 0.0, "acc_norm": 1.0},
            "the docstring example",
        ),
        # "éé" has 2 characters but 4 UTF-8 bytes: per character -1.0 vs -1.5 picks choice 0
        (([-2.0, -3.0], ["ab", "éé"], 0), {"acc": 1.0, "acc_norm": 1.0}, "characters, not bytes"),
        # 5 and 6 characters: -0.66 vs -0.6 picks 1; per word (3 and 1) would pick 0
        (
            ([-3.3, -3.6], ["a b c", "abcdef"], 1),
            {"acc": 0.0, "acc_norm": 1.0},
            "characters, not words",
        ),
        # ties go to the first maximum (numpy argmax)
        (
            ([-1.0, -1.0, -2.0], ["x", "y", "z"], 1),
            {"acc": 0.0, "acc_norm": 0.0},
            "ties: first max",
        ),
        (([-5.0, -1.0, -2.0], ["aaaa", "b", "cc"], 1), {"acc": 1.0, "acc_norm": 1.0}, "both right"),
    ]
    for args, expected, why in cases:
        got = mod.mc_metrics(*args)
        assert got == expected, (
            f"mc_metrics{args} = {got}, expected {expected} ({why})\n  likely cause: acc = argmax "
            "of lls == gold; acc_norm = argmax of lls[i] / len(choices[i]) (characters of the "
            "choice string); 1.0 or 0.0; the first maximum wins a tie"
        )
