"""Checks for w10.clean: normalisation, quality signals and rules, the whole-word blocklist.

Oracles: hand-computed answers (derivations in the docstrings), both sides of every bound, and
properties (normalisation is idempotent; a rule that fails is named).
"""

import pytest

from roadmap.impl import load

mod = load("week10_distributed.clean")


@pytest.mark.parametrize(
    "text,expected,cause",
    [
        (
            "  Hello\t\tworld \r\n\r\n\r\n\uff21BC  ",
            "Hello world\n\nABC",
            "the docstring example: NFKC (full-width \\uff21 -> A), line ends, blanks, newlines",
        ),
        (
            "a\u00a0\u00a0b",
            "a b",
            "NFKC turns a non-breaking space into a space; then collapse runs",
        ),
        ("\ufb01ne", "fine", "NFKC splits the ligature 'fi'"),
        ("x\ry\r\nz", "x\ny\nz", "'\\r\\n' and '\\r' become '\\n'"),
        ("a\n\n\n\n\nb", "a\n\nb", "three or more newlines become two"),
        ("a\n  \n \t \nb", "a\n\nb", "lines of blanks become empty lines, then collapse"),
        ("a\n\nb", "a\n\nb", "one empty line in a row is kept"),
        ("  \t\n  ", "", "white space only -> ''"),
        ("one  two\tthree", "one two three", "runs of spaces and tabs become one space"),
        (
            "x\x0cy \x0b z",
            "x\x0cy \x0b z",
            "only spaces and tabs collapse and are stripped within a line, and lines end at "
            "'\\n' only: a form feed or vertical tab is neither (not \\s+, not splitlines)",
        ),
    ],
)
def test_normalize_known_answers(text, expected, cause):
    got = mod.normalize_text(text)
    assert got == expected, (
        f"normalize_text({text!r}): expected {expected!r}, got {got!r}\n  likely cause: {cause}"
    )


def test_normalize_is_idempotent():
    text = " A\u00a0b\t c \r\n\r\n\r\n\r\nd\ufb01  \n\n e "
    once = mod.normalize_text(text)
    assert mod.normalize_text(once) == once, (
        f"normalize_text(normalize_text(x)) != normalize_text(x) for x={text!r}: {once!r}\n"
        "  likely cause: the steps must run in the documented order (NFKC first, strip last)"
    )


def test_quality_signals_known_answer():
    """Lines "The cat sat.", "The cat sat.", "", "x = 1 ; (and)": three non-empty, one repeat: 1/3.
    Words: The cat sat. The cat sat. x = 1 ; (and) -> 11 words. Characters: 'The' 3, 'cat' 3,
    'sat.' 4, twice = 20, then 'x', '=', '1', ';' = 4, '(and)' 5: 29 over 11 words.
    Symbols: '.', '.', '=', ';', '(', ')' = 6 of the 29 non-space characters.
    Stop words (lower-cased, punctuation stripped): 'the' twice and 'and' (from '(and)') -> 3 / 11.
    """
    text = "The cat sat.\nThe cat sat.\n\nx = 1 ; (and)"
    got = mod.quality_signals(text)
    expected = dict(
        n_words=11.0,
        mean_word_length=29 / 11,
        symbol_ratio=6 / 29,
        duplicate_line_fraction=1 / 3,
        stopword_fraction=3 / 11,
    )
    assert set(got) == set(expected), (
        f"quality_signals keys: expected {set(expected)}, got {set(got)}"
    )
    causes = dict(
        n_words="words are text.split()",
        mean_word_length="mean characters per word (punctuation attached to a word counts)",
        symbol_ratio="non-alphanumeric among NON-WHITE-SPACE characters only",
        duplicate_line_fraction="repeats of an earlier non-empty line over the NON-EMPTY lines",
        stopword_fraction="lower-case and strip punctuation before looking a word up",
    )
    for key, value in expected.items():
        assert abs(got[key] - value) < 1e-12, (
            f"quality_signals({text!r})[{key!r}]: expected {value:.6g}, got {got[key]}\n"
            f"  likely cause: {causes[key]}"
        )


def test_duplicate_lines_are_compared_stripped():
    """Lines "a b", "  a b  ", "c", "", "": three non-empty lines after line.strip(), and the
    second repeats the first: 1/3."""
    got = mod.quality_signals("a b\n  a b  \nc\n\n")["duplicate_line_fraction"]
    assert abs(got - 1 / 3) < 1e-12, (
        f"quality_signals('a b\\n  a b  \\nc\\n\\n')['duplicate_line_fraction'] = {got}, "
        "expected 1/3\n  likely cause: compare the lines after line.strip() ('  a b  ' repeats "
        "'a b'), over the non-empty ones"
    )


def test_quality_signals_of_empty_text():
    got = mod.quality_signals("")
    assert all(v == 0.0 for v in got.values()), (
        f"quality_signals(''): every signal is 0.0 for an empty text, got {got} "
        "(guard the divisions)"
    )


GOOD = " ".join(["the quick fox jumps over the lazy dog and it is a fine day"] * 2)  # 28 words


def test_good_text_passes_and_each_rule_is_named():
    ok, reason = mod.passes_quality(GOOD)
    assert (ok, reason) == (True, ""), (
        f"passes_quality(plain English, 28 words): got {(ok, reason)}"
    )
    cases = [
        ("the dog", "too_short", dict(), "n_words < min_words"),
        (GOOD, "too_long", dict(max_words=25), "n_words > max_words"),
        ("a b c d e f g h i j k l m n o p q r s t u", "word_length", dict(), "mean length 1 < 2"),
        (
            GOOD + " " + " ".join(["#!$%"] * 5),
            "symbols",
            dict(),
            "symbol_ratio > max_symbol_ratio",
        ),
        ("\n".join([GOOD] * 3), "repetition", dict(), "2 of 3 lines repeat: 0.67 > 0.3"),
        (
            " ".join(["lorem ipsum dolor sit amet consectetur"] * 5),
            "not_language",
            dict(),
            "no stop word at all",
        ),
    ]
    for text, rule, kwargs, why in cases:
        got = mod.passes_quality(text, **kwargs)
        assert got == (False, rule), (
            f"passes_quality({text[:40]!r}..., {kwargs}): expected (False, {rule!r}) ({why}), "
            f"got {got}\n  likely cause: the rules run in the documented order, the first failing "
            "one is returned, by its documented name"
        )


def test_bounds_are_inclusive():
    """GOOD has 28 words: min_words=28 and max_words=28 both pass, 29 / 27 fail. Its symbol ratio
    is 0 and its duplicate-line fraction 0, so bounds of 0 pass (a value equal to a bound passes).
    """
    s = mod.quality_signals(GOOD)
    n = int(s["n_words"])
    assert mod.passes_quality(GOOD, min_words=n, max_words=n) == (True, ""), (
        "passes_quality(28 words, min_words=28, max_words=28) must pass: the bounds are inclusive"
    )
    assert mod.passes_quality(GOOD, min_words=n + 1)[1] == "too_short", (
        "min_words 29 > 28 words: too_short"
    )
    assert mod.passes_quality(GOOD, max_words=n - 1)[1] == "too_long", (
        "max_words 27 < 28 words: too_long"
    )
    assert mod.passes_quality(GOOD, max_symbol_ratio=0.0, max_duplicate_line_fraction=0.0) == (
        True,
        "",
    ), "a ratio equal to its maximum (0.0 here) passes: the bounds are inclusive"
    m = s["mean_word_length"]
    assert mod.passes_quality(GOOD, min_mean_word_length=m, max_mean_word_length=m)[0], (
        "mean_word_length equal to both bounds passes (inclusive)"
    )
    f = s["stopword_fraction"]
    assert mod.passes_quality(GOOD, min_stopword_fraction=f)[0], (
        "stopword_fraction equal to min_stopword_fraction passes (inclusive)"
    )
    assert mod.passes_quality(GOOD, min_stopword_fraction=f + 1e-9)[1] == "not_language", (
        "stopword_fraction just below the minimum fails with 'not_language'"
    )


SYMBOLS = GOOD + " ok."  # one '.' among 93 non-space characters: symbol_ratio 1/93
REPEATED = "\n".join([GOOD, GOOD, "the end of it is near for the fox and the dog and the day"])


@pytest.mark.parametrize(
    "text,signal,rule,low,high",
    [
        (SYMBOLS, "symbol_ratio", "symbols", None, "max_symbol_ratio"),
        (REPEATED, "duplicate_line_fraction", "repetition", None, "max_duplicate_line_fraction"),
        (GOOD, "mean_word_length", "word_length", "min_mean_word_length", "max_mean_word_length"),
        (GOOD, "stopword_fraction", "not_language", "min_stopword_fraction", None),
    ],
)
def test_every_bound_is_the_argument_at_its_exact_edge(text, signal, rule, low, high):
    """Each bound set to the text's own signal value passes (inclusive); moved past it by 1e-9 it
    fails with the rule's name. The values (symbol_ratio 1/93, duplicate_line_fraction 1/3 > the
    default 0.3, mean_word_length ~3.1) are not the defaults, so a bound that ignores its argument
    shows."""
    value = mod.quality_signals(text)[signal]
    relaxed = dict(max_duplicate_line_fraction=1.0) if rule != "repetition" else {}
    for bound, past in ((low, value + 1e-9), (high, value - 1e-9)):
        if bound is None:
            continue
        at_edge = mod.passes_quality(text, **relaxed, **{bound: value})
        assert at_edge == (True, ""), (
            f"passes_quality(text with {signal} = {value:.6g}, {bound}={value:.6g}) = {at_edge}, "
            f"expected (True, '')\n  likely cause: use the {bound} argument (not its default), and "
            "a value equal to a bound passes (inclusive)"
        )
        beyond = mod.passes_quality(text, **relaxed, **{bound: past})
        assert beyond == (False, rule), (
            f"passes_quality(text with {signal} = {value:.6g}, {bound}={past:.10g}) = {beyond}, "
            f"expected (False, {rule!r})\n  likely cause: compare {signal} with the {bound} "
            "argument, not a fixed number"
        )


def test_the_first_failing_rule_in_order_is_named():
    """A text that breaks two rules is named by the first in the documented order: symbols comes
    before repetition, word_length before not_language."""
    noisy = GOOD + " " + " ".join(["#!$%"] * 5)
    cases = [
        ("\n".join([noisy] * 3), "symbols", "symbols (0.18 > 0.1) and repetition (2/3 > 0.3)"),
        (
            "b c d e f g h j k l m n o p q r s t u v w",
            "word_length",
            "word_length (mean 1 < 2) and not_language (no stop word)",
        ),
    ]
    for text, rule, why in cases:
        got = mod.passes_quality(text)
        assert got == (False, rule), (
            f"passes_quality({text[:30]!r}...) breaks {why}: expected (False, {rule!r}), got {got}"
            "\n  likely cause: test the rules in the documented order and return the first that "
            "fails"
        )


@pytest.mark.parametrize(
    "text,expected,cause",
    [
        ("A classic assessment.", [], "whole words only: 'ass' is inside 'classic' (Scunthorpe)"),
        ("You ASS!", ["ass"], "compare lower-cased words"),
        ("damn, damn and ass-hat", ["ass", "damn"], "\\w+ splits at '-'; sorted, distinct"),
        ("", [], "an empty text has no hits"),
    ],
)
def test_blocklist_hits(text, expected, cause):
    got = mod.blocklist_hits(text, ["ass", "Damn"])
    assert got == expected, (
        f"blocklist_hits({text!r}, ['ass', 'Damn']): expected {expected}, got {got}\n"
        f"  likely cause: {cause}"
    )


def test_blocklist_words_are_unicode_word_runs():
    """A word is a run of \\w characters: letters of any script, digits and "_" belong to it, so
    "Ärger" is one word (lower-cased "ärger") and "ass2", "ass_hat" hold no "ass"."""
    got = mod.blocklist_hits("Ein Ärger, ass2 und ass_hat.", ["ärger", "ass"])
    assert got == ["ärger"], (
        f"blocklist_hits('Ein Ärger, ass2 und ass_hat.', ['ärger', 'ass']): expected ['ärger'], "
        f"got {got}\n  likely cause: a word is a maximal run of \\w (re.findall(r'\\w+', ...)): "
        "non-ASCII letters, digits and '_' are part of it"
    )
