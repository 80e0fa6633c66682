"""A character tokenizer: one id per distinct character of the training text.

The vocabulary is the sorted set of characters, so the same text always gives the same ids. A
character outside the vocabulary is an error unless the tokenizer was built with an `unk`
character, in which case it maps to that character's id: the choice is explicit, never silent.
Check: `python tracker.py check w02.char_tokenizer`
"""

import json
from pathlib import Path


class CharTokenizer:
    """Maps characters to ids 0..V-1 and back.

    Args:
        chars: the vocabulary, one distinct single-character string per id, in id order.
        unk: if given, a character of `chars` that stands in for every unknown character.
    """

    def __init__(self, chars: list[str], unk: str | None = None) -> None:
        if len(set(chars)) != len(chars) or any(len(c) != 1 for c in chars):
            raise ValueError("chars must be distinct single characters")
        if unk is not None and unk not in chars:
            raise ValueError(f"unk {unk!r} must be one of the vocabulary's characters")
        self.chars = list(chars)
        self.unk = unk
        self.stoi = {c: i for i, c in enumerate(self.chars)}  # str -> int
        self.itos = dict(enumerate(self.chars))  # int -> str

    @property
    def vocab_size(self) -> int:
        return len(self.chars)

    @classmethod
    def from_text(cls, text: str, unk: str | None = None) -> "CharTokenizer":
        """Build the vocabulary from `text`: its distinct characters, sorted by code point.

        If `unk` is given and does not occur in `text`, it is added to the vocabulary too.
        Example: from_text("hello") has chars ['e', 'h', 'l', 'o'], so "hello" -> [1, 0, 2, 2, 3].
        """
        # TODO(w02.char_tokenizer): build the tokenizer whose ids follow text's sorted characters
        raise NotImplementedError(
            "w02.char_tokenizer: write CharTokenizer.from_text in exercises/week02_bigram/char_tokenizer.py"
        )

    def encode(self, text: str) -> list[int]:
        """Ids of the characters of `text`.

        Example: from_text("hello").encode("hole") -> [1, 3, 2, 0];
        from_text("hello", unk="?").encode("hex") -> [2, 1, 0] (chars ['?', 'e', 'h', 'l', 'o']).

        Raises:
            ValueError: a character is not in the vocabulary and there is no `unk`; the message
                names the character and its position (from_text("hello").encode("hex"): 'x' at 2).
        """
        # TODO(w02.char_tokenizer): return text's ids; an unknown character is unk or an error
        raise NotImplementedError(
            "w02.char_tokenizer: write CharTokenizer.encode in exercises/week02_bigram/char_tokenizer.py"
        )

    def decode(self, ids: list[int]) -> str:
        """The text of `ids`; decode(encode(s)) == s for every s made of vocabulary characters.

        Example: from_text("hello").decode([1, 0, 2, 2, 3]) -> "hello"; decode([4]) raises.

        Raises:
            ValueError: an id is outside 0..vocab_size-1.
        """
        # TODO(w02.char_tokenizer): return the text of ids, refusing an id outside the vocabulary
        raise NotImplementedError(
            "w02.char_tokenizer: write CharTokenizer.decode in exercises/week02_bigram/char_tokenizer.py"
        )

    def save(self, path: str | Path) -> None:
        """Write the vocabulary (and unk) to a JSON file, readable by `CharTokenizer.load`.

        Example: from_text("hi", unk="?").save(p) writes a JSON text file from which
        CharTokenizer.load(p) rebuilds chars ['?', 'h', 'i'] and unk '?'.
        """
        # TODO(w02.char_tokenizer): write a readable file from which load rebuilds this tokenizer
        raise NotImplementedError(
            "w02.char_tokenizer: write CharTokenizer.save in exercises/week02_bigram/char_tokenizer.py"
        )

    @classmethod
    def load(cls, path: str | Path) -> "CharTokenizer":
        """Read a tokenizer written by `save`; it encodes every text exactly as the original did.

        Example: after from_text("hi", unk="?").save(p), load(p).encode("hi!") -> [1, 2, 0].

        Raises:
            ValueError: the file does not hold a character tokenizer (written by another `save`).
        """
        # TODO(w02.char_tokenizer): rebuild the tokenizer that save wrote, refusing any other file
        raise NotImplementedError(
            "w02.char_tokenizer: write CharTokenizer.load in exercises/week02_bigram/char_tokenizer.py"
        )
