"""Checks for w03.subword_ngrams: FastText's character n-grams, the FNV-1a hash, the row ids.

Oracles: n-gram lists written out by hand (the paper's "where" example, short words, Unicode), the
published FNV-1a test vectors ("", "a", "foobar") and, for non-ASCII text, values computed by an
independent C implementation of FNV-1a over the UTF-8 bytes; row ids derived by hand from those.
"""

import pytest

from roadmap.impl import load

mod = load("week03_embeddings.subword")

MASK = 0xFFFFFFFF


def fnv_variants(text: str) -> dict[str, int]:
    """Hashes of the usual slips, to name the one a wrong answer matches."""

    def run(values, xor_first=True, signed=False):
        h = 2166136261
        for b in values:
            b = (b - 256 if b > 127 else b) & MASK if signed else b
            h = ((h ^ b) * 16777619) & MASK if xor_first else ((h * 16777619) & MASK) ^ b
        return h

    data = text.encode("utf-8")
    unmasked = 2166136261
    for b in data:
        unmasked = (unmasked ^ b) * 16777619
    return {
        "FNV-1a XORs the byte in first, then multiplies (multiply-then-XOR is FNV-1)": run(
            data, xor_first=False
        ),
        "hash the UTF-8 bytes of the text (text.encode('utf-8')), not its code points (ord)": run(
            [ord(c) for c in text]
        ),
        "this is standard FNV-1a: each byte as 0..255 (FastText's C++ sign-extends bytes >= 0x80 "
        "through int8_t; the docstring asks for the standard hash)": run(data, signed=True),
        "keep 32 bits after every multiplication (& 0xFFFFFFFF)": unmasked,
    }


@pytest.mark.parametrize(
    "text,want",
    [
        ("", 0x811C9DC5),
        ("a", 0xE40C292C),
        ("foobar", 0xBF9CF968),
        ("<walk>", None),
        ("é", 0x1E9DE8C1),
        ("日本", 0x9F26EE51),
        ("naïve", 0x999A082B),
    ],
)
def test_fnv1a_known_values(text, want):
    """ "", "a", "foobar": the FNV test vectors; "é", "日本", "naïve": a C implementation of FNV-1a
    (uint8_t bytes, uint32_t arithmetic) over their UTF-8 bytes. "<walk>" is worked by the
    docstring's rule on its 6 ASCII bytes."""
    if want is None:
        want = 2166136261
        for b in text.encode("ascii"):
            want = ((want ^ b) * 16777619) & MASK
    got = mod.fnv1a_32(text)
    assert isinstance(got, int), (
        f"fnv1a_32({text!r}) returned {type(got).__name__}, expected an int"
    )
    if got != want:
        cause = next((c for c, v in fnv_variants(text).items() if v == got), None)
        if cause is None and not 0 <= got < 2**32:
            cause = "keep 32 bits: the result lies in [0, 2**32)"
        raise AssertionError(
            f"fnv1a_32({text!r}) = {got:#x}, expected {want:#010x}; likely cause: "
            f"{cause or 'start at 2166136261; per UTF-8 byte: h = ((h ^ byte) * 16777619) mod 2**32 (not Python hash(), which is salted per process)'}"
        )


def expect_ngrams(args: tuple, want: list[str]) -> None:
    got = mod.char_ngrams(*args)
    if got == want:
        return
    call = f"char_ngrams{args!r}".replace(",)", ")")
    causes = []
    if sorted(got) == sorted(want):
        causes.append("order them by n first, then by start position")
    if any(g.startswith("<") or g.endswith(">") for g in want) and not any(
        "<" in g or ">" in g for g in got
    ):
        causes.append("the n-grams are taken from '<' + word + '>': the boundary markers count")
    longest = max((len(g) for g in want), default=0)
    if longest and all(len(g) < longest for g in got):
        causes.append(f"n runs up to n_max included: the {longest}-grams are missing")
    if len(got) > len(want) and set(want) <= set(got):
        causes.append("only n from n_min to n_max, and only whole characters of '<word>'")
    if len(got) < len(want) and set(got) <= set(want):
        causes.append("keep every n-gram, duplicates included, down to n_min")
    raise AssertionError(
        f"{call} = {got}, expected {want}; likely cause: "
        f"{'; '.join(causes) or 'every substring of length n_min..n_max of <word>, by n then start'}"
    )


def test_where_as_in_the_paper():
    """Bojanowski et al. 2017, section 3.2: "where" with n = 3 is <wh, whe, her, ere, re>."""
    expect_ngrams(("where", 3, 3), ["<wh", "whe", "her", "ere", "re>"])


def test_default_lengths_3_to_6():
    """ "<walk>" has 6 characters: four 3-grams, three 4-grams, two 5-grams and itself."""
    want = ["<wa", "wal", "alk", "lk>", "<wal", "walk", "alk>", "<walk", "walk>", "<walk>"]
    expect_ngrams(("walk",), want)


def test_short_words_and_n_longer_than_the_word():
    """ "<a>" is the only n-gram of 3 to 6 characters of "a"; "<>" (the empty word) has none; "<ab>"
    has no 5- or 6-gram; with n from 4 to 6 it has exactly one, itself."""
    expect_ngrams(("a",), ["<a>"])
    expect_ngrams(("",), [])
    expect_ngrams(("ab", 5, 6), [])
    expect_ngrams(("ab", 4, 6), ["<ab>"])
    expect_ngrams(("ab", 1, 2), ["<", "a", "b", ">", "<a", "ab", "b>"])


def test_unicode_counts_characters_not_bytes():
    """ "日本" is 2 characters (6 UTF-8 bytes): "<日本>" has two 3-grams and one 4-gram. "naïve"
    has 7 characters with its markers."""
    expect_ngrams(("日本", 3, 4), ["<日本", "日本>", "<日本>"])
    expect_ngrams(("naïve", 5, 6), ["<naïv", "naïve", "aïve>", "<naïve", "naïve>"])


def test_repeated_ngrams_are_kept():
    expect_ngrams(("aaaa", 3, 3), ["<aa", "aaa", "aaa", "aa>"])


def fnv(text: str) -> int:
    """This check's own FNV-1a, for the row ids (the values above pin it down)."""
    h = 2166136261
    for b in text.encode("utf-8"):
        h = ((h ^ b) * 16777619) & MASK
    return h


SALTED = (
    "Python's hash() is salted per process (PYTHONHASHSEED), so the buckets would change from run "
    "to run; use fnv1a_32"
)


def expect_ids(word: str, vocab: dict[str, int], buckets: int, n: tuple[int, int], want) -> None:
    """subword_ids(word, ...) == want, else the slip whose prediction it matches."""
    got = mod.subword_ids(word, vocab, buckets, *n)
    if got == want:
        return
    V = len(vocab)
    marked = f"<{word}>"
    grams = [marked[i : i + k] for k in range(n[0], n[1] + 1) for i in range(len(marked) - k + 1)]
    own = [vocab[word]] if word in vocab else []
    slips = [
        (SALTED, own + [V + hash(g) % buckets for g in grams]),
        ("a word of the vocabulary contributes its own row vocab[word] first", want[len(own) :]),
        ("only a word of the vocabulary has an own row", [0] + want),
        (
            "n-gram rows come after the V word rows: V + fnv1a_32(g) % buckets",
            own + [fnv(g) % buckets for g in grams],
        ),
        (
            "hash the n-grams of '<' + word + '>', markers included",
            own + [V + fnv(g.strip("<>")) % buckets for g in grams],
        ),
    ]
    cause = next(
        (c for c, v in slips if got == v),
        "the word's own row (if it has one), then V + fnv1a_32(g) % buckets for each g in "
        "char_ngrams(word, n_min, n_max), in that order",
    )
    raise AssertionError(
        f"subword_ids({word!r}, vocab of {V} words, buckets={buckets}, n_min={n[0]}, "
        f"n_max={n[1]}) = {got}, expected {want}; likely cause: {cause}"
    )


def test_subword_ids_by_hand():
    """vocab {"a": 0, "b": 1}, 7 buckets: fnv1a_32("<a>") % 7 = 2 and fnv1a_32("<c>") % 7 = 1, so
    "a" -> [0, 2 + 2] (its own row first) and the unseen "c" -> [2 + 1] (no own row)."""
    vocab = {"a": 0, "b": 1}
    expect_ids("a", vocab, 7, (3, 6), [0, 4])
    expect_ids("c", vocab, 7, (3, 6), [3])


@pytest.mark.parametrize("word", ["walking", "walked", "é", "日本語"])
def test_subword_ids_of_longer_words(word):
    """V = 5 (vocab: walked, walk, talk, é, x), 101 buckets, n from 2 to 5: the own row (if any),
    then 5 + fnv1a_32(g) % 101 for each n-gram g, in char_ngrams' order, duplicates kept."""
    vocab = {"walked": 0, "walk": 1, "talk": 2, "é": 3, "x": 4}
    marked = f"<{word}>"
    grams = [marked[i : i + n] for n in range(2, 6) for i in range(len(marked) - n + 1)]
    want = ([vocab[word]] if word in vocab else []) + [5 + fnv(g) % 101 for g in grams]
    expect_ids(word, vocab, 101, (2, 5), want)
