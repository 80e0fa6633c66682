"""Checks for w08.speculative: the accept/reject rule and the speculative decoding loop.

Oracles: the target distribution itself. Frequencies are compared with it by chi-square tests at
false-alarm rate 1e-4 each (support.py); with draft = target every proposal must be accepted.
"""

import itertools

import torch

from checks.week08_inference.support import chi_square_check
from roadmap.checking import generator
from roadmap.impl import load

mod = load("week08_inference.speculative")

RULE = (
    "accept drafted x with probability min(1, p(x) / q(x)) (u * q(x) < p(x)); on rejection draw "
    "from max(0, p - q) renormalised, NOT from p; if all k are accepted draw the bonus from p[k]"
)


def test_identical_draft_is_always_accepted():
    p = torch.tensor([[0.1, 0.6, 0.3], [0.5, 0.25, 0.25], [0.2, 0.2, 0.6]])
    g = generator(0)
    for _ in range(50):
        drafted = torch.multinomial(p[:2], 1, generator=g).squeeze(1)
        n, nxt = mod.accept_or_resample(p, p[:2], drafted, g)
        assert n == 2, (
            f"accept_or_resample with q == p rejected a draft (n_accepted {n} of 2): p/q = 1, so min(1, p/q) = 1"
        )
        assert 0 <= nxt < 3, f"next token {nxt} is not a token id"


def test_a_draft_the_target_never_makes_is_always_rejected():
    """q puts all mass on token 0, which the target gives probability 0: reject, draw from p."""
    p = torch.tensor([[0.0, 0.7, 0.3], [1 / 3, 1 / 3, 1 / 3]])
    q = torch.tensor([[1.0, 0.0, 0.0]])
    g = generator(1)
    seen = []
    for _ in range(200):
        n, nxt = mod.accept_or_resample(p, q, torch.tensor([0]), g)
        assert n == 0, (
            f"accept_or_resample accepted token 0 whose target probability is 0 (n_accepted {n})\n  likely cause: {RULE}"
        )
        seen.append(nxt)
    counts = torch.bincount(torch.tensor(seen), minlength=3)
    chi_square_check(
        counts, p[0], what="replacement tokens after rejecting a token p never makes", hint=RULE
    )


def test_first_token_is_distributed_as_the_target():
    """V = 5, k = 2. Draw the drafts from q as the caller would, run the rule 2,000 times: the first
    new token (drafted[0] if accepted, else the replacement) must follow p[0] exactly."""
    p = torch.tensor(
        [[0.4, 0.3, 0.1, 0.1, 0.1], [0.2, 0.2, 0.2, 0.2, 0.2], [0.1, 0.2, 0.3, 0.2, 0.2]]
    )
    q = torch.tensor([[0.1, 0.1, 0.2, 0.3, 0.3], [0.5, 0.1, 0.1, 0.2, 0.1]])
    g = generator(2)
    firsts = []
    for _ in range(2000):
        drafted = torch.multinomial(q, 1, generator=g).squeeze(1)  # (k,)
        n, nxt = mod.accept_or_resample(p, q, drafted, g)
        firsts.append(int(drafted[0]) if n >= 1 else nxt)
    counts = torch.bincount(torch.tensor(firsts), minlength=5)
    chi_square_check(
        counts,
        p[0],
        what="first token of accept_or_resample(p, q, drafts from q) over 2,000 runs",
        hint=RULE,
    )


def markov(table: torch.Tensor):
    """A logits_fn over all positions for a bigram "model": logits[t] = log table[ids[t]]."""
    logp = table.log()
    return lambda ids: logp[ids]  # (1, T) -> (1, T, V)


def test_speculative_generate_samples_the_targets_two_token_distribution():
    """Target and draft are bigram tables over V = 3. P(x1, x2 | prompt [0, 0]) = p(x1 | 0) p(x2 | x1) for the
    target; 1,000 runs of 2 new tokens (k = 2) must match those 9 probabilities (chi-square)."""
    target = torch.tensor([[0.5, 0.3, 0.2], [0.1, 0.1, 0.8], [0.3, 0.4, 0.3]])
    draft = torch.tensor([[0.2, 0.2, 0.6], [0.4, 0.3, 0.3], [0.3, 0.4, 0.3]])
    g = generator(3)
    prompt = torch.zeros(1, 2, dtype=torch.long)
    counts = torch.zeros(9)
    accepted = proposed = 0
    for _ in range(1000):
        ids, a, n = mod.speculative_generate(
            markov(target), markov(draft), prompt, 2, k=2, generator=g
        )
        assert ids.shape == (1, 4), (
            f"speculative_generate(prompt (1, 2), 2 new tokens) returned {tuple(ids.shape)}, expected (1, 4): cut the last round to exactly max_new_tokens"
        )
        counts[3 * ids[0, 2] + ids[0, 3]] += 1
        accepted, proposed = accepted + a, proposed + n
    expected = torch.tensor(
        [target[0, a] * target[a, b] for a, b in itertools.product(range(3), repeat=2)]
    )
    chi_square_check(
        counts,
        expected,
        what="(x1, x2) from speculative_generate over 1,000 runs",
        hint=RULE + "; the target's logits at position T - 1 + i judge drafted[i]",
    )
    assert 0 < accepted < proposed, (
        f"with a different draft some proposals should be accepted and some rejected, got {accepted} of {proposed}"
    )


def test_identical_draft_accepts_every_proposal():
    table = torch.softmax(torch.randn(6, 6, generator=generator(4)), dim=-1)
    ids, accepted, proposed = mod.speculative_generate(
        markov(table), markov(table), torch.tensor([[2, 5]]), 20, k=4, generator=generator(5)
    )
    assert accepted == proposed > 0, (
        f"speculative_generate with draft = target accepted {accepted} of {proposed} proposals; p/q = 1 for every draft, so all must be accepted\n  likely cause: {RULE}"
    )
    assert ids.shape == (1, 22) and ids[0, :2].tolist() == [2, 5], (
        f"expected the prompt [2, 5] followed by 20 tokens, got {ids.tolist()}"
    )


def test_the_bonus_token_after_k_accepted_drafts_follows_p_k():
    """q = p[:k]: every draft is accepted, then the bonus is drawn from p[k] (one position after
    the drafts), not from p[k - 1]. 2,000 runs with k = 1, chi-square against p[1]."""
    p = torch.tensor([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6]])
    g = generator(6)
    bonus = []
    for _ in range(2000):
        drafted = torch.multinomial(p[:1], 1, generator=g).squeeze(1)
        n, nxt = mod.accept_or_resample(p, p[:1], drafted, g)
        assert n == 1, f"accept_or_resample with q == p rejected a draft (n_accepted {n})"
        bonus.append(nxt)
    counts = torch.bincount(torch.tensor(bonus), minlength=3)
    chi_square_check(
        counts, p[1], what="bonus token after 1 accepted draft over 2,000 runs", hint=RULE
    )
