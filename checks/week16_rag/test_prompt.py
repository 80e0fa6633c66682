"""Checks for w16.prompt: numbered citations, the token budget, and the lexical groundedness check.

Oracles: the exact prompt layout the docstring states, budgets derived by hand from its length, and
hand-scored answers (content words and overlaps counted in the docstrings).
"""

import pytest

from roadmap.impl import load

mod = load("week16_rag.prompt")

PASSAGES = ["Ann ran home.", "Bob sat down on the old chair.", "Cy ate.", "Di sang a long song."]


def words(text: str) -> int:
    """A stand-in tokenizer: whitespace-separated words."""
    return len(text.split())


def test_format_prompt_layout():
    got = mod.format_prompt("Who ran?", PASSAGES[:2])
    expected = (
        mod.HEADER
        + "[1] Ann ran home.\n[2] Bob sat down on the old chair.\n\nQuestion: Who ran?\nAnswer:"
    )
    assert got == expected, (
        f"format_prompt('Who ran?', 2 passages):\n  expected {expected!r}\n  got      {got!r}\n"
        "  likely cause: number the passages from 1 as '[i] passage' lines, then a blank line, "
        "'Question: ...' and 'Answer:'"
    )
    assert mod.format_prompt("Q?", []) == mod.HEADER + "\nQuestion: Q?\nAnswer:", (
        "format_prompt(q, []) must be HEADER + the question block"
    )


def test_build_prompt_takes_the_longest_prefix_that_fits():
    """Budget = exactly the words of the prompt with passages 1-2: both fit (<=), the third does
    not; one word fewer fits only passage 1."""
    q = "Who sat down?"
    exact = words(mod.format_prompt(q, PASSAGES[:2]))
    prompt, used = mod.build_prompt(q, PASSAGES, words, exact)
    assert (prompt, used) == (mod.format_prompt(q, PASSAGES[:2]), 2), (
        f"build_prompt(4 passages, budget {exact} = the size of the 2-passage prompt): expected 2 "
        f"passages, got {used}\n  likely cause: a prompt of exactly `budget` tokens fits (<=); "
        "measure the whole formatted prompt"
    )
    prompt, used = mod.build_prompt(q, PASSAGES, words, exact - 1)
    assert (prompt, used) == (mod.format_prompt(q, PASSAGES[:1]), 1), (
        f"build_prompt(budget {exact - 1}): expected 1 passage, got {used}\n  likely cause: the "
        "budget counts the whole prompt, header and question included; stop at the first "
        "passage that does not fit (later ones are not tried)"
    )


def test_build_prompt_stops_at_the_first_passage_that_does_not_fit():
    """Passage 2 is long, passage 3 ("Cy ate.") is short: a budget that fits 1 and 3 but not 1 and 2
    gives 1 passage; skipping to 3 would renumber it [2] and break rank order."""
    q = "Who ate?"
    budget = words(mod.format_prompt(q, [PASSAGES[0], PASSAGES[2]]))
    prompt, used = mod.build_prompt(q, PASSAGES, words, budget)
    assert used == 1 and prompt == mod.format_prompt(q, PASSAGES[:1]), (
        f"build_prompt(budget that fits passages 1 and 3 but not 1 and 2): expected 1 passage, got "
        f"{used}: {prompt!r}\n  likely cause: stop at the first passage that does not fit; later "
        "ones are not tried"
    )


def test_build_prompt_all_fit_and_question_alone_too_long():
    prompt, used = mod.build_prompt("Q?", PASSAGES, len, 10_000)
    assert used == 4 and prompt == mod.format_prompt("Q?", PASSAGES), (
        f"build_prompt(huge budget): used {used} of 4 passages"
    )
    bare = len(mod.format_prompt("Q?", []))
    prompt, used = mod.build_prompt("Q?", PASSAGES, len, bare)
    assert (prompt, used) == (mod.format_prompt("Q?", []), 0), (
        f"build_prompt(budget = the bare prompt): expected no passage, got {used}"
    )
    with pytest.raises(ValueError):
        mod.build_prompt("Q?", PASSAGES, len, bare - 1)
        pytest.fail(
            "build_prompt(budget below the bare question prompt) returned instead of raising ValueError"
        )


def test_unsupported_sentences_docstring_example():
    """ "Paris is in France." content {paris, france}: both in the passage -> 2/2, supported.
    "Bananas are blue." content {bananas, blue} ("are" is a stopword): 0/2 -> flagged."""
    got = mod.unsupported_sentences(
        "Paris is in France. Bananas are blue.", ["Paris is the capital of France."]
    )
    assert list(got) == [1], (
        f"unsupported_sentences(docstring example): expected [1], got {got}\n  likely cause: "
        "flag a sentence whose best passage support (shared content words / its content words) is "
        "below the threshold; sentence indices, not the sentences"
    )


def test_unsupported_sentences_threshold_citations_and_empty_sentences():
    """Passages P0 "The tower was built in 1889 by Eiffel." and P1 "Paris hosts the tower.".
    S0 "The tower was built in 1889 [1]." content {tower, built, 1889} ([1] is removed): P0 3/3.
    S1 "It is." no content words: supported. S2 "Eiffel built bridges in Lyon." content {eiffel,
    built, bridges, lyon}: P0 2/4 = 0.5 (P1 0/4) -> supported at threshold 0.5 (>=), flagged at
    0.6. S3 "Paris hosts concerts!" {paris, hosts, concerts}: P1 2/3, P0 0/3 -> supported at 0.6
    (the best passage counts, not the first); flagged at 0.7."""
    answer = "The tower was built in 1889 [1]. It is. Eiffel built bridges in Lyon. Paris hosts concerts!"
    passages = ["The tower was built in 1889 by Eiffel.", "Paris hosts the tower."]
    for threshold, expected in [(0.5, []), (0.6, [2]), (0.7, [2, 3]), (0.1, [])]:
        got = mod.unsupported_sentences(answer, passages, threshold)
        assert list(got) == expected, (
            f"unsupported_sentences(4-sentence answer, 2 passages, threshold {threshold}): expected "
            f"{expected}, got {got}\n  likely cause: support = |content words & passage tokens| / "
            "|content words| of the BEST passage, supported when >= threshold; citation markers "
            "like [1] and stopwords are not content words; a sentence with no content is supported"
        )


def test_unsupported_sentences_without_passages():
    """No passages: every sentence with content words is flagged; "It is." is not."""
    got = mod.unsupported_sentences("Cats purr. It is. Dogs bark.", [])
    assert list(got) == [0, 2], (
        f"unsupported_sentences(3 sentences, no passages): expected [0, 2], got {got}"
    )
