"""Shared pieces of the week-03 checks (not a check file itself): torch's LSTM entry points that the
LSTM checks switch off, and oracles that score word vectors on the planted corpus without the
learner's own code. The corpus and its analogy questions come from course/week03_embeddings/
planted.py, which the project uses too.
"""

import torch

from course.week03_embeddings.planted import Planted

# torch's own LSTMs and fused LSTM ops: the w03.lstm_cell and w03.lstm_layer checks forbid them
LSTM_LIBRARY = (
    "torch.nn.LSTMCell.forward",
    "torch.nn.LSTM.forward",
    "torch.lstm_cell",
    "torch.lstm",
    "torch._VF.lstm_cell",
    "torch._VF.lstm",
)


def near(a: torch.Tensor, b: torch.Tensor) -> bool:
    """Same shape and equal within 1e-4: used to name which wrong reading a result matches."""
    return a.shape == b.shape and torch.allclose(a, b, atol=1e-4)


def unit_rows(vectors: torch.Tensor) -> torch.Tensor:
    return vectors / vectors.norm(dim=-1, keepdim=True).clamp_min(1e-12)


def analogy_accuracy(vectors: torch.Tensor, questions, index: dict[str, int]) -> float:
    """Share of questions whose 3CosAdd answer over the whole vocabulary (a, b, c excluded) is d."""
    u = unit_rows(vectors)
    a, b, c, d = (torch.tensor([index[q[k]] for q in questions]) for k in range(4))
    sims = (u[b] - u[a] + u[c]) @ u.T  # (Q, V)
    rows = torch.arange(len(questions))
    for excluded in (a, b, c):
        sims[rows, excluded] = -float("inf")
    return (sims.argmax(1) == d).double().mean().item()


def nearest_within(vectors: torch.Tensor, group: list[str], index: dict[str, int]) -> list[str]:
    """Each word's nearest neighbour by cosine among the other words of `group`."""
    u = unit_rows(vectors[[index[w] for w in group]])
    sims = u @ u.T
    sims.fill_diagonal_(-float("inf"))
    return [group[j] for j in sims.argmax(1).tolist()]


def partner_accuracy(vectors: torch.Tensor, p: Planted) -> float:
    """Share of the 12 person words whose nearest person word is their partner (king -> queen)."""
    people = [w for pair in p.pairs for w in pair]
    partner = {x: y for x, y in p.pairs} | {y: x for x, y in p.pairs}
    nearest = nearest_within(vectors, people, p.index)
    return sum(partner[w] == n for w, n in zip(people, nearest, strict=True)) / len(people)


def family_accuracy(vectors: torch.Tensor, p: Planted) -> float:
    """Share of the 36 seen verb forms whose nearest verb form is of the same family."""
    stem = {w: s for s, forms in p.families.items() for w in forms if w in p.index}
    verbs = list(stem)
    nearest = nearest_within(vectors, verbs, p.index)
    return sum(stem[w] == stem[n] for w, n in zip(verbs, nearest, strict=True)) / len(verbs)
