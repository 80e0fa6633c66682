"""Checks for w17.generation: final-answer extraction, exact and quasi-exact match.

Oracles: the stated formats and their known answers ("The answer is", GSM8K's "####", "Answer:",
last marker wins, trailing periods); SQuAD's normalisation worked by hand.
"""

from roadmap.impl import load

mod = load("week17_evaluation.generation")


def test_extract_answer_handles_the_stated_formats():
    cases = [
        ("3 + 4 = 7. The answer is 7.", "7", "'The answer is X.', trailing period removed"),
        ("Half of 84 is 42, so\n#### 42", "42", "GSM8K's '#### X'"),
        ("Answer: the answer is Paris.\nDone", "Paris", "the LAST marker wins, up to the line end"),
        ("THE ANSWER IS: blue", "blue", "markers are case-insensitive, 'answer is:' included"),
        ("answer: 12...", "12", "trailing periods are removed"),
        ("First the answer is 3. Wait, recheck.\nThe answer is 5", "5", "the last marker wins"),
        ("  Answer:   13 apples  \nmore text", "13 apples", "surrounding whitespace is stripped"),
        ("I think 7", None, "no marker gives None"),
        ("The answer is .", None, "an empty answer is None"),
        ("The answer is 42. \nok", "42", "strip the whitespace first, then the trailing periods"),
    ]
    for text, expected, rule in cases:
        got = mod.extract_answer(text)
        assert got == expected, (
            f"extract_answer({text!r}) = {got!r}, expected {expected!r}\n  likely cause: {rule}"
        )


def test_normalize_answer_is_squads():
    cases = [
        ("The  Eiffel-Tower!", "eiffeltower"),
        ("an apple, a pear", "apple pear"),
        ("Theory of the mind", "theory of mind"),
        ("  A  ", ""),
        ("7 a.m. sharp", "7 am sharp"),  # punctuation goes before articles: "a.m." -> "am"
        ("The-end", "theend"),
    ]
    for text, expected in cases:
        got = mod.normalize_answer(text)
        assert got == expected, (
            f"normalize_answer({text!r}) = {got!r}, expected {expected!r}\n  likely cause: lower, "
            "drop string.punctuation, drop the whole words a/an/the (not 'the' inside 'Theory'), "
            "collapse whitespace"
        )


def test_exact_and_quasi_exact_match():
    cases = [
        ("Paris", "Paris", 1.0, 1.0),
        (" Paris ", "Paris", 1.0, 1.0),
        ("paris", "Paris", 0.0, 1.0),
        ("The Paris.", "paris", 0.0, 1.0),
        ("Lyon", "Paris", 0.0, 0.0),
        (None, "Paris", 0.0, 0.0),
    ]
    for pred, ref, em, qem in cases:
        got_em, got_qem = mod.exact_match(pred, ref), mod.quasi_exact_match(pred, ref)
        assert got_em == em, (
            f"exact_match({pred!r}, {ref!r}) = {got_em!r}, expected {em}\n  likely cause: exact "
            "match compares the stripped strings only (case counts); None scores 0.0"
        )
        assert got_qem == qem, (
            f"quasi_exact_match({pred!r}, {ref!r}) = {got_qem!r}, expected {qem}\n  likely cause: "
            "compare normalize_answer of both; None scores 0.0"
        )
