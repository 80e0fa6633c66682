"""Checks for w03.skipgram_loss: the negative-sampling loss, cosine neighbours, planted structure.

Oracles: (1 + k) ln 2 at initialisation; torch's binary_cross_entropy_with_logits with labels 1
for the context and 0 for negatives; a synthetic corpus whose nearest neighbours are known.
"""

import math
import random

import torch
import torch.nn.functional as F

from roadmap.checking import adam, assert_close, generator
from roadmap.impl import load

mod = load("week03_embeddings.word2vec")


def test_initial_loss_is_1_plus_k_ln2():
    """out_embed starts at zero, so every score is 0 and sigmoid(0) = 1/2: loss = -(1 + k) log(1/2)."""
    torch.manual_seed(0)
    model = mod.SkipGram(10, 8)
    k = 5
    loss = model.loss(
        torch.tensor([1, 2, 3]),
        torch.tensor([4, 5, 6]),
        torch.randint(0, 10, (3, k), generator=generator(0)),
    )
    assert abs(loss.item() - (1 + k) * math.log(2)) < 1e-6, (
        f"SkipGram.loss at initialisation with k={k}: expected 6 ln 2 = {6 * math.log(2):.5f}, got {loss.item():.5f}; "
        "one positive term plus one term per negative, averaged over the batch; the context and "
        "negative vectors come from out_embed (zero at init), the centers' from in_embed"
    )


def test_matches_binary_cross_entropy_formulation():
    V, C, B, k = 13, 6, 9, 4
    g = generator(1)
    model = mod.SkipGram(V, C)
    with torch.no_grad():
        model.in_embed.weight.copy_(torch.randn(V, C, generator=g))
        model.out_embed.weight.copy_(torch.randn(V, C, generator=g))
    centers, contexts = (
        torch.randint(0, V, (B,), generator=g),
        torch.randint(0, V, (B,), generator=g),
    )
    negatives = torch.randint(0, V, (B, k), generator=g)
    v = model.in_embed.weight[centers]
    pos = (model.out_embed.weight[contexts] * v).sum(-1)
    neg = torch.einsum("bkc,bc->bk", model.out_embed.weight[negatives], v)
    expected = (
        F.binary_cross_entropy_with_logits(pos, torch.ones(B), reduction="sum")
        + F.binary_cross_entropy_with_logits(neg, torch.zeros(B, k), reduction="sum")
    ) / B
    assert_close(
        model.loss(centers, contexts, negatives),
        expected.detach(),
        atol=1e-5,
        what=f"SkipGram.loss for {B} pairs with {k} negatives",
        hint="-log sigmoid(u_o . v_c) - sum_j log sigmoid(-u_nj . v_c): note the minus sign on the "
        "negative scores; centers use in_embed, contexts and negatives use out_embed",
    )


def test_loss_is_finite_for_large_scores():
    model = mod.SkipGram(4, 3)
    with torch.no_grad():
        model.in_embed.weight.fill_(30.0)
        model.out_embed.weight.fill_(-30.0)
    loss = model.loss(torch.tensor([0]), torch.tensor([1]), torch.tensor([[2, 3]]))
    assert torch.isfinite(loss), (
        f"loss with scores of -2700 is {loss.item()}: use F.logsigmoid, not log(sigmoid(.))"
    )


def test_most_similar_uses_cosine_and_skips_itself():
    vectors = torch.tensor([[1.0, 0.0], [0.9, 0.1], [0.0, 1.0], [-1.0, 0.0], [50.0, 40.0]])
    got = mod.most_similar(vectors, 0, 2)
    assert got == [1, 4], (
        f"most_similar(vectors, 0, k=2) = {got}, expected [1, 4]: rank by cosine similarity (normalise "
        "rows), best first, and never return the word itself; a raw dot product would put row 4 first"
    )


def planted_corpus(groups: int, sentences: int, seed: int) -> torch.Tensor:
    """Partner words 2g and 2g + 1 never meet but share the same three context words."""
    rng = random.Random(seed)
    ids = []
    for _ in range(sentences):
        g = rng.randrange(groups)
        ctx = [2 * groups + 3 * g + j for j in range(3)]
        rng.shuffle(ctx)
        ids += [ctx[0], 2 * g + rng.randrange(2), ctx[1], ctx[2]]
    return torch.tensor(ids)


def test_trained_vectors_recover_planted_partners():
    """6 groups of (2 partners + 3 context words), 300 sentences, window 2, 80 Adam steps.

    Partners have identical context distributions, so their input vectors converge; each partner's
    nearest neighbour (cosine, over all 30 words) must be its own partner.
    """
    G = 6
    V = 5 * G
    ids = planted_corpus(G, 300, seed=0)
    N = len(ids)
    pairs = torch.tensor(
        [[ids[i], ids[j]] for i in range(N) for j in range(max(0, i - 2), min(N, i + 3)) if j != i]
    )
    probs = torch.bincount(ids, minlength=V).double() ** 0.75
    torch.manual_seed(0)
    model = mod.SkipGram(V, 16)
    step = adam(model.parameters(), lr=0.05)
    g = generator(0)
    for _ in range(80):
        sel = torch.randint(len(pairs), (256,), generator=g)
        negatives = torch.multinomial(probs, 256 * 5, replacement=True, generator=g).view(256, 5)
        loss = model.loss(pairs[sel, 0], pairs[sel, 1], negatives)
        loss.backward()
        step()
    vectors = model.in_embed.weight.detach()
    wrong = {
        w: mod.most_similar(vectors, w, 1)[0]
        for w in range(2 * G)
        if mod.most_similar(vectors, w, 1)[0] != w ^ 1
    }
    assert not wrong, (
        f"nearest neighbours {wrong} (word: neighbour) should be each word's planted partner (w ^ 1). "
        "Likely cause: the loss trains the wrong tables (centers must use in_embed) or pushes "
        "negatives the wrong way"
    )
