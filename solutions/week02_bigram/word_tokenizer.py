"""A word tokenizer: words and punctuation marks as tokens, a capped vocabulary, and <UNK>.

Text is split into words (letters and digits, with inner apostrophes: "know't"), single punctuation
marks and newlines; spaces are dropped. Only the `max_vocab - 1` most frequent tokens get their own
id; everything else becomes `<UNK>` (id 0). Same interface as CharTokenizer (`from_text`, `encode`,
`decode`, `vocab_size`), so the week's project switches between them with one line.
Check: `python tracker.py check w02.word_tokenizer`
"""

import re
from collections import Counter

UNK = "<UNK>"

# a word (with inner apostrophes), one punctuation mark, or a newline; spaces and tabs match nothing
TOKEN_PATTERN = re.compile(r"[A-Za-z0-9]+(?:'[A-Za-z0-9]+)*|[^\sA-Za-z0-9]|\n")


def split_words(text: str) -> list[str]:
    """Split `text` into words, punctuation marks and newlines, in order; spaces are dropped.

    Example: "We know't, we\\nknow't." -> ["We", "know't", ",", "we", "\\n", "know't", "."]
    """
    # findall returns the matches left to right; whatever matches nothing (spaces) is skipped
    return TOKEN_PATTERN.findall(text)


def join_words(tokens: list[str]) -> str:
    """Inverse of split_words on normalised text: one space between words, none before
    punctuation or around newlines.

    Example: ["We", "know't", ",", "we", "\\n", "know't", "."] -> "We know't, we\\nknow't."
    """
    out = []
    for i, tok in enumerate(tokens):
        is_word = tok[0].isalnum() or tok == UNK
        space = i > 0 and is_word and tokens[i - 1] != "\n"
        out.append(" " + tok if space else tok)
    return "".join(out)


class WordTokenizer:
    """Maps tokens to ids; id 0 is always `<UNK>`.

    Args:
        words: the vocabulary in id order; words[0] must be "<UNK>".
    """

    def __init__(self, words: list[str]) -> None:
        if not words or words[0] != UNK or len(set(words)) != len(words):
            raise ValueError(f"words must be distinct and start with {UNK!r}")
        self.words = list(words)
        self.stoi = {w: i for i, w in enumerate(self.words)}

    @property
    def vocab_size(self) -> int:
        return len(self.words)

    @classmethod
    def from_text(cls, text: str, max_vocab: int = 8192) -> "WordTokenizer":
        """Keep `<UNK>` plus the `max_vocab - 1` most frequent tokens of `text`.

        Ties in frequency are broken alphabetically, so the vocabulary does not depend on the
        order of the text. Example: "b a b c" with max_vocab=3 -> ["<UNK>", "b", "a"].
        """
        # sort by (-count, token): most frequent first, alphabetical among equals
        counts = Counter(split_words(text))
        ranked = sorted(counts, key=lambda w: (-counts[w], w))
        return cls([UNK] + ranked[: max_vocab - 1])

    def encode(self, text: str) -> list[int]:
        """Ids of the tokens of `text`; a token outside the vocabulary becomes id 0 (`<UNK>`).

        Example: from_text("b a b c", max_vocab=3).encode("a b d") -> [2, 1, 0].
        """
        # .get with a default is the whole unknown-token policy: rare and unseen words share id 0
        return [self.stoi.get(w, 0) for w in split_words(text)]

    def decode(self, ids: list[int]) -> str:
        """Normalised text of `ids`: tokens joined by `join_words`; id 0 decodes to "<UNK>".

        Example: from_text("b a b c", max_vocab=3).decode([2, 1, 0]) -> "a b <UNK>".
        """
        # look up each id, then let join_words put the spaces back
        return join_words([self.words[int(i)] for i in ids])
