"""Checks for w03.glove: the weighting f, the weighted least-squares loss, w + w~, analogies.

Oracles: f and the loss worked out by hand (the docstrings' examples), the loss and its gradients
by an explicit loop over the nonzero counts in float64, hand-built vectors for analogies, and a
short training run on the planted corpus (course/week03_embeddings/planted.py), scored by
support.py without your analogy function.
"""

import math

import torch

from course.week03_embeddings.planted import gender_questions, planted, tense_questions
from roadmap.checking import adam, assert_close, generator, learner_first
from roadmap.impl import load

from .support import analogy_accuracy, family_accuracy, partner_accuracy

mod = load("week03_embeddings.glove")


def test_weight_known_values_and_cap():
    """f(x) = (x / 100)^0.75 below 100, 1 from 100 on: f(1) = 0.01^0.75 = 0.0316, f(50) =
    0.5^0.75 = 0.5946; and with x_max = 10, alpha = 1: f(x) = min(x / 10, 1)."""
    x = torch.tensor([0.0, 1.0, 50.0, 100.0, 1000.0])
    got = mod.glove_weight(x)
    assert got[-1].item() <= 1.0 + 1e-6, (
        f"glove_weight(1000) = {got[-1].item():.4f}: f must be capped at 1 from x_max on, so "
        "the most frequent pairs do not dominate the loss"
    )
    assert_close(
        got,
        torch.tensor([0.0, 0.01**0.75, 0.5**0.75, 1.0, 1.0]),
        what="glove_weight([0, 1, 50, 100, 1000]) with x_max=100, alpha=0.75",
        hint="(x / x_max) ** alpha, capped at 1",
    )
    assert_close(
        mod.glove_weight(torch.tensor([0.5, 4.0, 10.0, 37.0]), x_max=10.0, alpha=1.0),
        torch.tensor([0.05, 0.4, 1.0, 1.0]),
        what="glove_weight([0.5, 4, 10, 37], x_max=10, alpha=1)",
        hint="use the x_max and alpha you were given, not the defaults",
    )


def zero_model(V: int, C: int):
    model = mod.GloVe(V, C)
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
    return model


def test_loss_known_answer_by_hand():
    """All parameters zero, X = [[0, 1], [e, 200]]: the pair (0, 0) never occurred and is left out;
    log 1 = 0, log e = 1 and f(200) = 1, so J = f(e) * 1 + 1 * log(200)^2 = 0.0669 + 28.072."""
    X = torch.tensor([[0.0, 1.0], [math.e, 200.0]])
    got = zero_model(2, 3).loss(X)
    f_e = (math.e / 100) ** 0.75
    want = f_e + math.log(200) ** 2
    assert torch.isfinite(got), (
        f"GloVe.loss with a zero count gave {got.item()}: pairs with X_ij = 0 (log 0 = -inf) must "
        "be left out of the sum, not weighted by f(0) = 0 (0 * inf is nan)"
    )
    causes = {
        want / 3: "J is the sum over the nonzero pairs, not the mean",
        want / 2: "J has no 1/2 factor (the paper's J; the C code's 1/2 is only in its gradient)",
        want / 6: "J is the sum over the nonzero pairs with no 1/2 factor, not half the mean",
        f_e + (200 / 100) ** 0.75 * math.log(200) ** 2: "f must be capped at 1 (f(200) = 1)",
        1 + math.log(200) ** 2: "weight each squared error by f(X_ij)",
    }
    cause = next((c for v, c in causes.items() if math.isclose(got.item(), v, rel_tol=1e-4)), None)
    assert math.isclose(got.item(), want, rel_tol=1e-5), (
        f"GloVe.loss with every parameter zero and X = [[0, 1], [e, 200]]: expected {want:.4f}, got "
        f"{got.item():.4f}; likely cause: {cause or 'J = sum over X_ij > 0 of f(X_ij) (w_i . w~_j + b_i + b~_j - log X_ij)^2'}"
    )


def loop_loss(wi, wj, bi, bj, X, x_max, alpha):
    """The paper's J, one nonzero pair at a time."""
    total = 0
    for i in range(X.shape[0]):
        for j in range(X.shape[1]):
            if X[i, j] > 0:
                f = min((X[i, j] / x_max) ** alpha, 1.0)
                total = total + f * (wi[i] @ wj[j] + bi[i] + bj[j] - X[i, j].log()) ** 2
    return total


def test_loss_and_gradients_match_a_loop_over_pairs():
    """V = 7, C = 5, random parameters of std 0.5; X has zeros (about a third of the entries),
    counts below 1, and counts above x_max = 10 (alpha 0.6), so every rule of J matters. The
    gradients of all four tables must equal the loop's: w (wi) and w~ (wj) are separate tables,
    b (bi) and b~ (bj) too."""
    g = generator(3)
    V, C = 7, 5
    model = mod.GloVe(V, C)
    with torch.no_grad():
        for p in model.parameters():
            p.copy_(0.5 * torch.randn(p.shape, generator=g))
    X = torch.rand(V, V, generator=g) * 30 * (torch.rand(V, V, generator=g) > 0.35)
    X[0, :3] = torch.tensor([0.25, 10.0, 0.0])
    got = model.loss(X, x_max=10.0, alpha=0.6)
    params = [
        p.detach().double().requires_grad_(True) for p in (model.wi, model.wj, model.bi, model.bj)
    ]
    want = loop_loss(*params, X.double(), 10.0, 0.6)
    assert_close(
        got,
        want.detach(),
        rtol=1e-4,
        what="GloVe.loss(X, x_max=10, alpha=0.6) for V=7, C=5, random parameters",
        hint="sum over X_ij > 0 of f(X_ij) (w_i . w~_j + b_i + b~_j - log X_ij)^2: rows i use wi "
        "and bi, columns j use wj and bj; f with the x_max and alpha you were given",
    )
    got.backward()
    want.backward()
    for name, p, ref in zip(
        ("wi", "wj", "bi", "bj"), (model.wi, model.wj, model.bi, model.bj), params, strict=True
    ):
        assert p.grad is not None and torch.isfinite(p.grad).all(), (
            f"GloVe.loss: the gradient of {name} is {'missing' if p.grad is None else 'not finite'}; "
            "likely cause: log X computed on the zero counts too (masking afterwards still sends "
            "0 * inf = nan back through log); take the nonzero pairs before the log"
        )
        assert_close(
            p.grad,
            ref.grad,
            atol=1e-4,
            rtol=1e-4,
            what=f"the gradient of GloVe.loss with respect to {name}",
            hint=f"{name} must enter J as in the formula: w_i . w~_j uses wi for the row word and "
            "wj for the column word, plus bi[i] + bj[j]",
        )


def test_word_vectors_are_w_plus_w_tilde():
    model = mod.GloVe(3, 2)
    with torch.no_grad():
        model.wi.copy_(torch.tensor([[1.0, 0.0], [2.0, 3.0], [-1.0, 5.0]]))
        model.wj.copy_(torch.tensor([[0.0, 2.0], [1.0, 1.0], [4.0, -5.0]]))
    got = model.word_vectors()
    assert_close(
        got,
        torch.tensor([[1.0, 2.0], [3.0, 4.0], [3.0, 0.0]]),
        what="GloVe.word_vectors() with wi [[1, 0], [2, 3], [-1, 5]], wj [[0, 2], [1, 1], [4, -5]]",
        hint="GloVe keeps the sum of the two tables, w + w~ (wi + wj), not one of them",
    )
    assert not got.requires_grad, "word_vectors() should be detached (.detach())"


def test_analogy_by_hand():
    """man [1, 0, 1], woman [0, 1, 1], king [1, 0, 3], queen [0, 1, 3], cat [-1, -1, 0]:
    king - man + woman lands on queen, and queen - woman + man on king."""
    v = torch.tensor(
        [[1.0, 0.0, 1.0], [0.0, 1.0, 1.0], [1.0, 0.0, 3.0], [0.0, 1.0, 3.0], [-1.0, -1.0, 0.0]]
    )
    got = mod.analogy(v, 0, 1, 2)
    assert got == [3], (
        f"analogy(vectors, man, woman, king) = {got}, expected [3] (queen); likely cause: "
        + (
            "exclude a, b and c themselves from the answers"
            if got and got[0] in (0, 1, 2)
            else "the target is u_b - u_a + u_c (woman - man + king), compared by cosine"
        )
    )
    assert mod.analogy(v, 1, 0, 3, k=2) == [2, 4], (
        f"analogy(vectors, woman, man, queen, k=2) = {mod.analogy(v, 1, 0, 3, k=2)}, expected "
        "[2, 4]: the k best, best first"
    )


def test_analogy_excludes_the_question_words():
    """b - a + c is often nearest to b or c themselves: here to c (row 2), which must not count."""
    v = torch.tensor([[1.0, 0.0], [1.0, 0.2], [0.0, 1.0], [0.3, 1.0]])
    got = mod.analogy(v, 0, 1, 2)
    assert got == [3], (
        f"analogy(vectors, 0, 1, 2) = {got}, expected [3]; likely cause: exclude a, b and c "
        "themselves from the answers"
    )


def test_analogy_compares_unit_vectors():
    """Rows of lengths 1.7 to 6.2. With unit rows the answer is row 3 (cosine 0.81 to the target,
    row 4: 0.66); raw dot products, or a target b - a + c built from the raw rows, pick the longer
    row 4."""
    v = torch.tensor(
        [[1.0, 1.0, 1.0], [0.0, 3.0, -3.0], [-3.0, 5.0, -2.0], [-3.0, 1.0, -1.0], [-1.0, 5.0, -1.0]]
    )
    got = mod.analogy(v, 0, 1, 2)
    assert got == [3], (
        f"analogy(vectors, 0, 1, 2) = {got}, expected [3]; likely cause: scale every row to unit "
        "length before building u_b - u_a + u_c and rank by cosine: a long vector must not win by "
        "its length"
    )


def train(p, seed: int, steps: int = 200):
    """Counts with window 3 (this check's own loop, not your cooccurrence), C = 16, full-batch
    Adam at lr 0.05; returns the model and the first and last loss."""
    V = len(p.vocab)
    X = torch.zeros(V, V)
    ids = p.ids.tolist()
    for d in (1, 2, 3):
        for a, b in zip(ids[:-d], ids[d:], strict=True):
            X[a, b] += 1 / d
            X[b, a] += 1 / d
    torch.manual_seed(seed)
    model = mod.GloVe(V, 16)
    step = adam(model.parameters(), lr=0.05)
    losses = []
    for _ in range(steps):
        loss = model.loss(X)
        losses.append(loss.item())
        loss.backward()
        step()
    return model, losses[0], losses[-1]


def test_trained_vectors_solve_planted_analogies():
    """GloVe on the planted corpus (12,500 words, V = 113): train() with seed 0; vectors w + w~,
    scored by 3CosAdd over the whole vocabulary. The reference, seeds 0-9: the loss ends at 0.022-
    0.023 of its start; gender analogies (king - man + woman = queen, 60 questions) 0.33-0.72,
    tense analogies (walked - walk + talk = talked, 680) 0.34-0.47, the nearest person word is
    the partner 1.00, the nearest verb form is of the same family 0.67-0.94. Chance is about 0.01
    for an analogy, 0.09 for a neighbour. Bounds: loss below 0.1 of its start; 0.2, 0.2, 0.75,
    0.5. About 1 s."""
    learner_first(mod.GloVe(2, 3).loss, torch.ones(2, 2))
    learner_first(mod.GloVe(2, 3).word_vectors)
    p = planted()
    model, first, last = train(p, seed=0)
    assert last < 0.1 * first, (
        f"GloVe.loss went from {first:.1f} to only {last:.1f} in 200 Adam steps; expected "
        "below a tenth of the start; likely cause: a parameter outside the loss's graph"
    )
    vectors = model.word_vectors()
    scores = {
        "gender analogies": (analogy_accuracy(vectors, gender_questions(p), p.index), 0.2),
        "tense analogies": (analogy_accuracy(vectors, tense_questions(p), p.index), 0.2),
        "partner is the nearest person": (partner_accuracy(vectors, p), 0.75),
        "nearest verb form in the family": (family_accuracy(vectors, p), 0.5),
    }
    low = {k: round(v, 2) for k, (v, bound) in scores.items() if v < bound}
    assert not low, (
        f"trained GloVe vectors score {low} (bounds "
        f"{ {k: bound for k, (_, bound) in scores.items()} }); likely cause: word_vectors should "
        "be wi + wj, and the loss must fit w_i . w~_j + b_i + b~_j to log X_ij"
    )
