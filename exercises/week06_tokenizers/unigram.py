"""A Unigram language-model tokenizer (the model SentencePiece trains), from scratch.

A Unigram tokenizer is a vocabulary of pieces, each with a log-probability; a text is cut into the
segmentation whose log-probabilities sum highest (the Viterbi path), so encoding is a search, not a
replay of merges. Training starts from every character plus many frequent substrings and alternates
EM (re-estimate each piece's probability from its expected count over all segmentations) with
pruning (drop the pieces the corpus misses least) until the vocabulary has the size asked for.
SentencePiece's conventions are followed throughout: a space is the visible "▁" (U+2581) glued to
the front of the word after it, a "▁" is put before the first word too (the dummy prefix), and a
character no piece covers comes out as its UTF-8 bytes, "<0xNN>" (byte fallback).
Kudo (2018), Subword Regularization; Kudo & Richardson (2018), SentencePiece.
Three exercises live here, in this order: w06.unigram_segment, w06.unigram_train, w06.unigram_spm.
Check: `python tracker.py check w06.unigram_segment` (then w06.unigram_train, w06.unigram_spm)
"""

import math
from collections import Counter
from pathlib import Path

SPACE = "▁"  # U+2581: sentencepiece's visible space; a piece that starts a word starts with it
UNK_PENALTY = 10.0  # an uncovered character scores min(log-probs) - 10, as in sentencepiece
MIN_COUNT = 0.5  # the M-step drops pieces expected less often than this (sentencepiece's threshold)


def byte_pieces(text: str) -> list[str]:
    """The byte-fallback pieces of `text`: one "<0xNN>" per UTF-8 byte, NN in upper-case hex.

    Example: byte_pieces("é") -> ["<0xC3>", "<0xA9>"]; byte_pieces("\\t") -> ["<0x09>"];
    byte_pieces("") -> [].
    """
    # TODO(w06.unigram_segment): return the byte-fallback piece of every UTF-8 byte of the text.
    raise NotImplementedError(
        "w06.unigram_segment: write byte_pieces in exercises/week06_tokenizers/unigram.py"
    )


def unigram_segment(text: str, pieces: dict[str, float]) -> list[str]:
    """The most probable segmentation of `text` into pieces (Viterbi), with byte fallback.

    The score of a segmentation is the sum of its pieces' log-probabilities. Where no piece of one
    character starts at a position, one more edge covers that single character as "unknown", scoring
    min(pieces.values()) - UNK_PENALTY; an unknown character comes out as its byte_pieces. A
    character no single piece covers is still taken by a longer piece when that scores better.
    Tie rule (sentencepiece's): among best segmentations, the one whose last piece is longest wins;
    among those, the one whose second-to-last piece is longest, and so on towards the front.
    Pieces and lengths are in characters (str), not bytes.

    Example with pieces {"▁": -1.0, "a": -2.0, "b": -2.0, "ab": -2.5, "▁a": -2.5, "▁ab": -5.0}:
    "▁ab" -> ["▁", "ab"] (-3.5 beats "▁a" + "b" = -4.5, "▁ab" = -5.0, "▁" + "a" + "b" = -5.0).
    Tie: with {"▁": -1.0, "a": -1.0, "▁a": -2.0}, "▁a" -> ["▁a"] (ties with "▁" + "a"; longer last).
    Fallback: with {"▁": -1.0, "a": -2.0}, "▁éa" -> ["▁", "<0xC3>", "<0xA9>", "a"].

    Args:
        text: the string to cut, spaces already written as "▁" (see normalize); may be empty.
        pieces: piece -> log-probability, at least one piece.

    Returns:
        The pieces in text order; "".join of them (bytes decoded back) is `text`.
    """
    # TODO(w06.unigram_segment): return the best segmentation (stated tie rule), with byte fallback.
    raise NotImplementedError(
        "w06.unigram_segment: write unigram_segment in exercises/week06_tokenizers/unigram.py"
    )


def words_of(text: str) -> Counter[str]:
    """Each line's words with "▁" in front, counted: what the trainer sees (no piece spans words).

    A word is a maximal run of characters other than " " within one line (sentencepiece with the
    identity rule treats only " " as a space: a tab stays inside its word).
    Example: words_of("the cat\\nthe  hat") -> Counter({"▁the": 2, "▁cat": 1, "▁hat": 1}).
    """
    return Counter(SPACE + word for line in text.splitlines() for word in line.split(" ") if word)


def seed_pieces(words: Counter[str], seed_size: int, max_len: int = 16) -> dict[str, float]:
    """The starting vocabulary: every character of the words, plus the most frequent substrings.

    The frequency of a substring is its number of occurrences inside the words, times each word's
    count (overlapping occurrences count: "▁aaa" holds "aa" twice); only substrings of 2..max_len
    characters of a single word are candidates, so "▁" can only come first. The `seed_size`
    candidates with the largest frequency x length (the characters they cover) are kept, ties to the
    smaller string (str order). Every character is kept too, with its frequency as its score. Each
    piece's log-probability is log(score / sum of all kept scores).

    Example: words {"▁aa": 2, "▁ab": 1}, seed_size=2. Characters ▁: 3, a: 5, b: 1. Substrings
    (frequency x length): "▁a" 3 x 2 = 6, "▁aa" 2 x 3 = 6, "aa" 2 x 2 = 4, "▁ab" 1 x 3 = 3,
    "ab" 1 x 2 = 2. Kept: "▁a" and "▁aa" (ranked by frequency alone, "aa" would beat "▁aa"; with
    seed_size=1 the tie goes to "▁a", the smaller string). Sum 3 + 5 + 1 + 6 + 6 = 21, so
    {"▁": log(3/21), "a": log(5/21), "b": log(1/21), "▁a": log(6/21), "▁aa": log(6/21)}.
    """
    # TODO(w06.unigram_train): return every character and the top substrings as log-probabilities.
    raise NotImplementedError(
        "w06.unigram_train: write seed_pieces in exercises/week06_tokenizers/unigram.py"
    )


def _logsumexp(values: list[float]) -> float:
    """log(sum(exp(v))) without overflow; -inf for an empty list."""
    top = max(values, default=-math.inf)
    if top == -math.inf:
        return -math.inf
    return top + math.log(sum(math.exp(v - top) for v in values))


def expected_counts(
    words: Counter[str], pieces: dict[str, float]
) -> tuple[dict[str, float], float]:
    """E-step: each piece's expected count over all segmentations, and the corpus log-likelihood.

    Full EM, not Viterbi-EM: a word's probability is the sum over ALL its segmentations of the
    product of their pieces' probabilities, and each segmentation contributes its posterior
    probability (its probability / the word's) to the count of every piece in it (forward-backward).
    Counts are times each word's count; the log-likelihood is sum(count x log p(word)).

    Example: words {"ab": 3}, pieces {"a": log .5, "b": log .25, "ab": log .25}. Segmentations:
    a+b (.125) and ab (.25), so p("ab") = .375, posteriors 1/3 and 2/3. Counts: {"a": 1.0, "b": 1.0,
    "ab": 2.0}; log-likelihood 3 x log(.375) = -2.9425.

    Returns:
        (counts, log_likelihood): counts has every piece of `pieces` as a key (0.0 if unused).

    Raises:
        ValueError: a word that no segmentation into pieces covers (name the word).
    """
    # TODO(w06.unigram_train): return expected counts over all segmentations and the log-likelihood.
    raise NotImplementedError(
        "w06.unigram_train: write expected_counts in exercises/week06_tokenizers/unigram.py"
    )


def m_step(counts: dict[str, float], min_count: float = MIN_COUNT) -> dict[str, float]:
    """M-step: log-probabilities proportional to the expected counts (maximum likelihood).

    Pieces of two or more characters expected fewer than `min_count` times are dropped; a single
    character is never dropped, its count raised to `min_count` if lower (so every word stays
    segmentable). Each kept piece gets log(count / total of the kept counts).

    Example: {"a": 1.0, "b": 0.0, "ab": 2.0, "ba": 0.2} -> "ba" dropped, "b" counted 0.5, total 3.5:
    {"a": log(1/3.5), "b": log(0.5/3.5), "ab": log(2/3.5)}.
    """
    # TODO(w06.unigram_train): return log-probabilities proportional to the kept expected counts.
    raise NotImplementedError(
        "w06.unigram_train: write m_step in exercises/week06_tokenizers/unigram.py"
    )


def prune_pieces(words: Counter[str], pieces: dict[str, float], keep: int) -> dict[str, float]:
    """Keep the `keep` pieces the corpus would miss most; single characters are always kept.

    The loss of a piece x of two or more characters estimates what the corpus log-likelihood loses
    without it: segment every word with unigram_segment; if x occurs f times in those segmentations
    (each word's occurrences counted with the word's count), each occurrence would become x's own
    best segmentation without x, so
        loss(x) = f x (pieces[x] - score of unigram_segment(x, pieces without x)),
    a segmentation's score being the sum of its pieces' log-probabilities. `pieces` holds every
    character of the words. A piece no segmentation uses has loss 0. The `keep` pieces (characters
    included) with the largest loss are kept, ties to the higher log-probability, then to the smaller
    string. Kept pieces keep their log-probabilities (the next EM step renormalises). If keep is
    smaller than the number of characters, only the characters remain.

    Example: words {"▁ab": 4}, pieces {"▁": log .25, "a": log .2, "b": log .2, "ab": log .3,
    "▁ab": log .05}. Segmentations: "▁ab" -> ["▁", "ab"] (.075 beats .05 and .01), so f("ab") = 4,
    f("▁ab") = 0. loss("ab") = 4 x (log .3 - log(.2 x .2)) = 8.06, loss("▁ab") = 0; with keep=4
    the result is {"▁", "a", "b", "ab"} with unchanged log-probabilities.
    """
    # TODO(w06.unigram_train): return the characters and the pieces whose loss would cost the most.
    raise NotImplementedError(
        "w06.unigram_train: write prune_pieces in exercises/week06_tokenizers/unigram.py"
    )


def train_unigram(
    text: str,
    vocab_size: int,
    seed_size: int | None = None,
    max_len: int = 16,
    shrink: float = 0.75,
    em_steps: int = 2,
) -> dict[str, float]:
    """Train a Unigram vocabulary of at most `vocab_size` pieces on the words of `text`.

    The loop: words = words_of(text); pieces = seed_pieces(words, seed_size, max_len) (seed_size
    None means 4 x vocab_size); then repeatedly: run `em_steps` EM steps (pieces = m_step of
    expected_counts); stop if at most vocab_size pieces remain; else prune_pieces to
    max(vocab_size, int(len(pieces) x shrink)). So the result always comes out of an M-step (its
    probabilities sum to 1), can hold fewer than vocab_size pieces (the M-step drops rare ones) and
    always holds every character of the words.

    Example: train_unigram("the cat the hat " * 50, 9) -> the 6 characters ▁ t h e c a plus
    "▁the", "▁cat", "▁hat"; "▁the" has log-probability log(100 / 203) = -0.71 (100 expected uses
    out of 100 + 50 + 50 + 6 x 0.5, each unused character counting min_count).

    Raises:
        ValueError: vocab_size is smaller than the number of distinct characters of the words.
    """
    # TODO(w06.unigram_train): return the vocabulary the seed, EM and prune loop arrives at.
    raise NotImplementedError(
        "w06.unigram_train: write train_unigram in exercises/week06_tokenizers/unigram.py"
    )


def normalize(text: str) -> str:
    """sentencepiece's normalizer with the identity rule and its default whitespace handling.

    Runs of " " collapse to one, leading and trailing " " go, every remaining " " becomes "▁", and
    a "▁" goes in front (the dummy prefix), so every word starts with "▁". Only " " counts as a
    space: tabs, newlines and other characters stay as they are. Text of only spaces gives "".
    Example: normalize("  Hello  world ") -> "▁Hello▁world"; normalize("a\\tb") -> "▁a\\tb".
    """
    # TODO(w06.unigram_spm): return the text as sentencepiece's identity normalizer writes it.
    raise NotImplementedError(
        "w06.unigram_spm: write normalize in exercises/week06_tokenizers/unigram.py"
    )


def load_spm_pieces(model_file: str | Path) -> dict[str, float]:
    """The pieces and scores (log-probabilities) of a trained sentencepiece Unigram model.

    Only the pieces the segmenter may use: <unk>, the control pieces (<s>, </s>), the byte pieces
    (<0x00>..<0xFF>) and unused pieces are left out; byte fallback is unigram_segment's own.
    sentencepiece's SentencePieceProcessor reads the file and knows each id's piece, score and kind.

    Example: a model trained with vocab_size=800 and byte_fallback=True holds 800 - 3 - 256 = 541
    such pieces, e.g. {",": -3.22, "▁the": -3.85, "▁": -4.05, ...}.
    """
    # TODO(w06.unigram_spm): return the lattice's pieces of the model file with their scores.
    raise NotImplementedError(
        "w06.unigram_spm: write load_spm_pieces in exercises/week06_tokenizers/unigram.py"
    )


def spm_encode(text: str, pieces: dict[str, float]) -> list[str]:
    """The pieces sentencepiece gives for `text` (sp.encode(text, out_type=str)), computed here.

    For a model trained with normalization_rule_name="identity" and byte_fallback=True (the other
    normalizer settings at their defaults): normalize, then unigram_segment.
    Example with pieces {"▁": -1.0, "a": -1.0, "b": -1.0, "c": -1.0, "ab": -2.0, "bc": -2.0}:
    spm_encode("  abc  ab ", pieces) -> ["▁", "a", "bc", "▁", "ab"] (both ties go to the longer last
    piece).
    """
    # TODO(w06.unigram_spm): return the pieces sentencepiece would give for this text.
    raise NotImplementedError(
        "w06.unigram_spm: write spm_encode in exercises/week06_tokenizers/unigram.py"
    )
