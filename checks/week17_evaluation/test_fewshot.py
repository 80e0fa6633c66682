"""Checks for w17.fewshot: prompt text, seeded shot selection, and no leak of the test item.

Oracles: the exact strings the docstrings define; random.Random(seed).sample over the candidates in
pool order, as the docstring states; the property that the test question never appears among the
shots, for 50 seeds.
"""

import random

import pytest

from checks.week17_evaluation.support import arc_tiny
from roadmap.impl import load

mod = load("week17_evaluation.fewshot")

DOC = {"query": "Question: 2 + 2?", "choices": ["3", "4"], "gold": 1}


def test_format_example_known_answers():
    got = mod.format_example(DOC)
    assert got == "Question: 2 + 2?\nAnswer:", (
        f"format_example({DOC}) = {got!r}, expected 'Question: 2 + 2?\\nAnswer:'\n  likely cause: "
        "f\"{query}\\nAnswer:\" with no trailing space (the choice is scored as ' ' + choice)"
    )
    got = mod.format_example(DOC, with_answer=True)
    assert got == "Question: 2 + 2?\nAnswer: 4", (
        f"format_example({DOC}, with_answer=True) = {got!r}, expected 'Question: 2 + 2?\\nAnswer: "
        "4'\n  likely cause: append ' ' + choices[gold], the gold choice, not the first"
    )


def test_zero_shot_is_the_question_alone():
    pool = arc_tiny()
    got = mod.build_prompt(pool[3], pool, k=0, seed=0)
    assert got == mod.format_example(pool[3]), (
        f"build_prompt(doc, pool, k=0) = {got!r}, expected format_example(doc) alone"
    )


def test_shots_are_the_seeded_sample_of_the_other_docs_in_order():
    """Shots = random.Random(seed).sample([d for d in pool if d != doc], k), joined by separator."""
    pool = arc_tiny()
    doc = pool[7]
    for k, seed, sep in [(3, 0, "\n\n"), (5, 1234, "\n###\n"), (1, 7, "\n\n")]:
        candidates = [d for d in pool if d != doc]
        shots = random.Random(seed).sample(candidates, k)
        expected = sep.join(
            [mod.format_example(s, with_answer=True) for s in shots] + [mod.format_example(doc)]
        )
        got = mod.build_prompt(doc, pool, k=k, seed=seed, separator=sep)
        assert got == expected, (
            f"build_prompt(pool[7], 20-doc pool, k={k}, seed={seed}, separator={sep!r}) =\n{got!r}"
            f"\nexpected\n{expected!r}\n  likely cause: shots = random.Random(seed).sample("
            "candidates, k) with the candidates in pool order minus the test doc, each with its "
            "answer, joined by the separator, the unanswered question last"
        )


def test_the_test_question_never_leaks_into_the_shots():
    """The pool holds the test doc twice (itself and an equal copy); with k = all other docs
    (19), every seed must still exclude both, so the question appears exactly once."""
    pool = arc_tiny()
    doc = pool[11]
    pool_with_copy = pool + [dict(doc)]
    for seed in range(50):
        got = mod.build_prompt(doc, pool_with_copy, k=19, seed=seed)
        n = got.count(doc["query"])
        assert n == 1, (
            f"build_prompt(doc, pool containing doc and a copy, k=19, seed={seed}) shows the test "
            f"question {n} times\n  likely cause: exclude every pool doc equal to the test doc "
            "(==, not `is`) before sampling; otherwise the answer leaks into the prompt"
        )


def test_same_seed_same_prompt_other_seed_other_shots_and_k_too_large_raises():
    pool = arc_tiny()
    a = mod.build_prompt(pool[0], pool, k=4, seed=3)
    b = mod.build_prompt(pool[0], pool, k=4, seed=3)
    c = mod.build_prompt(pool[0], pool, k=4, seed=4)
    assert a == b and a != c, (
        "build_prompt(k=4) with seeds 3, 3, 4: same seed must give the same prompt, another seed "
        "other shots\n  likely cause: use a fresh random.Random(seed), not the global random state"
    )
    assert a.count("\n\n") == 4, f"build_prompt(k=4) should join 5 parts with 4 separators:\n{a}"
    with pytest.raises(ValueError):
        mod.build_prompt(pool[0], pool, k=20, seed=0)
    with pytest.raises(ValueError):
        mod.build_prompt(pool[0], pool, k=-1, seed=0)
