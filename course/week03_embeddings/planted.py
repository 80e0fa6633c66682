"""The planted corpus of data/fixtures/week03 and its analogy questions, for the week-03 project and
its checks alike (no learner code here).

planted_words.txt holds 12,500 words, 113 distinct; planted_words.json says what it plants: six
(male, female) pairs such as (king, queen) that share role words but not pronouns, and ten verb
families (walk, walks, walked, walking) whose forms share context words while each form's tense
words are shared across families. Four forms never occur (walking, cooked, jumps, painting):
FastText must build them from n-grams.
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
