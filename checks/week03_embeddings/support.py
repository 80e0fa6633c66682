"""Shared pieces of the week-03 embedding checks (not a check file itself): the planted corpus,
its analogy questions, and oracles that score word vectors without the learner's own code.

The corpus is data/fixtures/week03/planted_words.txt (12,500 words, 113 distinct); how it was made
and what it plants is in planted_words.json: six (male, female) pairs such as (king, queen) that
share role words but not pronouns, and ten verb families (walk, walks, walked, walking) whose
forms share context words while each form's tense words are shared across families. Four forms
never occur (walking, cooked, jumps, painting): FastText must build them from n-grams.
"""

import json
from dataclasses import dataclass

import torch

from course.data import fixture_path


@dataclass
class Planted:
    words: list[str]  # the corpus, in order
    vocab: list[str]  # sorted distinct words; vocab[i] has id i
    index: dict[str, int]  # word -> id
    ids: torch.Tensor  # (N,) int64, the corpus as ids
    pairs: list[list[str]]  # [male, female]
    families: dict[str, list[str]]  # stem -> [base, -s, -ed, -ing]
    unseen: list[str]  # family words that never occur


def planted() -> Planted:
    words = fixture_path("week03", "planted_words.txt").read_text(encoding="utf-8").split()
    rel = json.loads(fixture_path("week03", "planted_words.json").read_text(encoding="utf-8"))
    vocab = sorted(set(words))
    index = {w: i for i, w in enumerate(vocab)}
    ids = torch.tensor([index[w] for w in words])
    return Planted(words, vocab, index, ids, rel["pairs"], rel["families"], rel["unseen"])


def gender_questions(p: Planted) -> list[tuple[str, str, str, str]]:
    """a : b :: c : d for every two pairs, both ways: (man, woman, king, queen), (woman, man, ...).
    6 pairs: 60 questions."""
    return [
        (x[g], x[1 - g], y[g], y[1 - g]) for x in p.pairs for y in p.pairs if x != y for g in (0, 1)
    ]


def tense_questions(p: Planted) -> list[tuple[str, str, str, str]]:
    """(walk, walked, talk, talked) for every two families and two forms, all four words seen:
    680 questions on the planted corpus."""
    fams = list(p.families.values())
    return [
        (x[f], x[h], y[f], y[h])
        for x in fams
        for y in fams
        if x != y
        for f in range(4)
        for h in range(4)
        if f != h and all(w in p.index for w in (x[f], x[h], y[f], y[h]))
    ]


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
