"""Checks for w03.fasttext: word vectors as the mean of subword rows, for seen and unseen words.

Oracles: means of the table's rows taken by hand (from the `units`/`mask` buffers and from
subword_ids, both checked in w03.subword_ngrams), autograd's gradient of a mean (1/n on each of
the word's rows, nothing elsewhere), the initial skip-gram loss (1 + k) ln 2, and a short training
run on the planted corpus (course/week03_embeddings/planted.py) with its measured margins.
"""

import math

import torch

from course.week03_embeddings.planted import planted, tense_questions
from roadmap.checking import adam, assert_close, generator
from roadmap.impl import load

from .support import analogy_accuracy, family_accuracy, partner_accuracy, unit_rows

mod = load("week03_embeddings.subword")

WORDS = ["a", "walk", "walked", "talking", "日本"]


def small_embedding(seed: int = 0, buckets: int = 13, dim: int = 4):
    """5 words (1 to 7 letters: 2 to 23 rows each), 13 buckets, rows redrawn N(0, 1)."""
    emb = mod.SubwordEmbedding(WORDS, buckets, dim)
    with torch.no_grad():
        emb.weight.copy_(torch.randn(emb.weight.shape, generator=generator(seed)))
    return emb


def by_hand(emb, ids: list[int]) -> torch.Tensor:
    """Each word's mean over its real rows, from the given buffers."""
    return torch.stack([emb.weight[emb.units[i][emb.mask[i]]].mean(0) for i in ids]).detach()


def test_forward_is_the_mean_of_each_words_rows():
    """A batch of 7 ids with repeats, over words of 2 to 23 rows (padding differs per word)."""
    emb = small_embedding()
    ids = [4, 0, 1, 3, 3, 2, 0]
    got = emb(torch.tensor(ids))
    want = by_hand(emb, ids)
    counts = emb.mask[ids].sum(1, keepdim=True)
    padding = "padding must not count: average over the word's real rows (mask), not all L columns"
    rows = emb.weight[emb.units[ids]].detach()  # (7, L, C)
    causes = [
        ("the mean, not the sum, of the word's rows", want * counts),
        (padding, rows.mean(1)),
        (padding, rows.sum(1) / counts),
        (
            "divide by the number of the word's real rows (mask.sum), not by the padded length L",
            want * counts / emb.mask.shape[1],
        ),
        (
            "a word's vector mixes its own row with its n-gram rows, not its own row alone",
            emb.weight[ids].detach(),
        ),
    ]
    cause = next(
        (c for c, v in causes if got.shape == v.shape and torch.allclose(got, v, atol=1e-5)),
        "the mean of weight[units[i]] over the True entries of mask[i]",
    )
    assert_close(
        got,
        want,
        atol=1e-5,
        what=f"SubwordEmbedding.forward(tensor({ids})) over {len(WORDS)} words",
        hint=cause,
    )


def test_gradient_reaches_exactly_each_words_rows():
    """loss = vector of "walk" . ones: each of its 10 n-gram rows and its own row get 1/11 per
    channel; every other row, the padding's included, gets nothing."""
    emb = small_embedding()
    out = emb(torch.tensor([1]))
    assert out.requires_grad, (
        "SubwordEmbedding.forward returned a tensor without a gradient path to weight; index the "
        "Parameter itself (no .detach(), no torch.no_grad()) so training can move the rows"
    )
    out.sum().backward()
    rows = emb.units[1][emb.mask[1]]
    want = torch.zeros_like(emb.weight)
    want.index_add_(0, rows, torch.full((len(rows), 4), 1.0 / len(rows)))
    assert emb.weight.grad is not None, (
        "SubwordEmbedding.forward: no gradient reached weight; index the Parameter itself"
    )
    assert_close(
        emb.weight.grad,
        want,
        what="the gradient of forward(['walk']).sum() with respect to weight",
        hint="the mean over the word's 11 real rows sends 1/11 to each and nothing to padding",
    )


def test_word_vector_equals_forward_for_seen_words():
    emb = small_embedding()
    for i, word in enumerate(WORDS):
        got = emb.word_vector(word)
        assert_close(
            got,
            by_hand(emb, [i])[0],
            atol=1e-5,
            what=f"SubwordEmbedding.word_vector({word!r}) (a vocabulary word)",
            hint="the mean of all its subword_ids rows: its own row first, then its n-gram rows",
        )
        assert not got.requires_grad, f"word_vector({word!r}) should be detached (.detach())"


def test_unseen_words_get_the_mean_of_their_ngram_rows():
    """ "walking" and "talked" are not in the vocabulary: their vectors are the means of their
    n-gram rows (no own row), not zeros."""
    emb = small_embedding()
    for word in ("walking", "talked", "x", "日"):
        got = emb.word_vector(word)
        rows = mod.subword_ids(word, emb.vocab, emb.buckets)
        assert got.abs().sum() > 0, (
            f"word_vector({word!r}) is all zeros: an unseen word still has n-gram rows "
            f"({len(rows)} of them); its vector is their mean"
        )
        assert_close(
            got,
            emb.weight[rows].mean(0).detach(),
            atol=1e-5,
            what=f"SubwordEmbedding.word_vector({word!r}) (unseen)",
            hint="the mean of weight[subword_ids(word, self.vocab, self.buckets, self.n_min, "
            "self.n_max)]",
        )


def test_a_word_with_no_rows_gets_zeros():
    """With n_min = 5, the unseen "ab" ("<ab>", 4 characters) has no n-gram and no own row."""
    emb = mod.SubwordEmbedding(WORDS, 13, 4, n_min=5, n_max=6)
    got = emb.word_vector("ab")
    assert got.shape == (4,) and torch.equal(got, torch.zeros(4)), (
        f"word_vector('ab') with n_min=5: expected 4 zeros, got {got}"
    )


def test_fasttext_plugs_into_the_skipgram_loss():
    """FastText's out_embed starts at zero, so its initial loss is (1 + k) ln 2 like SkipGram's."""
    torch.manual_seed(0)
    model = mod.FastText(WORDS, 13, 6)
    k = 3
    loss = model.loss(
        torch.tensor([0, 4, 2]), torch.tensor([1, 1, 3]), torch.tensor([[0, 1, 2]] * 3)
    )
    assert abs(loss.item() - (1 + k) * math.log(2)) < 1e-5, (
        f"FastText.loss at initialisation with k={k}: expected 4 ln 2 = {4 * math.log(2):.5f}, got "
        f"{loss.item():.5f}"
    )


def train(p, seed: int, steps: int) -> tuple:
    """Skip-gram pairs within 2 words, 256 pairs and 5 negatives (unigram^0.75) per step, Adam at
    0.05; FastText with 2,000 buckets, C = 16, n from 3 to 6."""
    V = len(p.vocab)
    ids = p.ids
    pairs = torch.cat(
        [torch.stack([ids[:-d], ids[d:]], 1) for d in (1, 2)]
        + [torch.stack([ids[d:], ids[:-d]], 1) for d in (1, 2)]
    )
    probs = torch.bincount(ids, minlength=V).double() ** 0.75
    torch.manual_seed(seed)
    model = mod.FastText(p.vocab, 2000, 16)
    step = adam(model.parameters(), lr=0.05)
    g = generator(seed)
    for _ in range(steps):
        sel = torch.randint(len(pairs), (256,), generator=g)
        negatives = torch.multinomial(probs, 256 * 5, replacement=True, generator=g).view(256, 5)
        loss = model.loss(pairs[sel, 0], pairs[sel, 1], negatives)
        loss.backward()
        step()
    return model, model.in_embed(torch.arange(V)).detach()


def test_same_seed_same_vectors():
    """Two 20-step runs with seed 3 give identical vectors, for seen and unseen words."""
    p = planted()
    (m1, v1), (m2, v2) = train(p, 3, 20), train(p, 3, 20)
    assert torch.equal(v1, v2) and torch.equal(
        m1.word_vector("walking"), m2.word_vector("walking")
    ), (
        "two FastText runs with the same seed gave different vectors; likely cause: something "
        "outside torch's seeded generators, such as Python's hash() (salted per process) for buckets"
    )


def test_unseen_forms_land_near_their_family():
    """train() for 200 steps on the planted corpus, seed 0. For each unseen form, the mean cosine
    to its family's seen forms minus the mean cosine to all other words of the vocabulary. The
    reference, seeds 0-9: walking 0.10-0.24 (it shares "alking>" with talking), cooked 0.28-0.48,
    jumps 0.43-0.55, painting 0.42-0.52; tense analogies (680) 0.57-0.76, partners 0.83-1.00,
    families 0.94-1.00 (chance 0.01 and 0.09). Untrained (0 steps), tense analogies score about
    0.1 and a margin can be below 0. Bounds: every margin above 0.05 and their mean above 0.2;
    tense analogies 0.4, partners 0.6, families 0.8. Under 1 s."""
    p = planted()
    model, vectors = train(p, 0, 200)
    u = unit_rows(vectors)
    margins = {}
    for word in p.unseen:
        family = [
            p.index[w]
            for forms in p.families.values()
            if word in forms
            for w in forms
            if w in p.index
        ]
        others = [i for i in range(len(p.vocab)) if i not in family]
        cos = u @ unit_rows(model.word_vector(word))
        margins[word] = round((cos[family].mean() - cos[others].mean()).item(), 3)
    assert min(margins.values()) > 0.05 and sum(margins.values()) / len(margins) > 0.2, (
        f"unseen words: mean cosine to their family minus to the other words {margins}; expected "
        "every one above 0.05 and a mean above 0.2; likely cause: word_vector of an unseen word "
        "should be the mean of its n-gram rows (the rows its family shares)"
    )
    scores = {
        "tense analogies": (analogy_accuracy(vectors, tense_questions(p), p.index), 0.4),
        "partner is the nearest person": (partner_accuracy(vectors, p), 0.6),
        "nearest verb form in the family": (family_accuracy(vectors, p), 0.8),
    }
    low = {k: round(v, 2) for k, (v, bound) in scores.items() if v < bound}
    assert not low, (
        f"trained FastText vectors score {low} (bounds "
        f"{ {k: bound for k, (_, bound) in scores.items()} }); likely cause: forward should "
        "average the word's own row and its n-gram rows"
    )
