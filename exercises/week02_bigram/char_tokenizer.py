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
        # TODO(w02.char_tokenizer): collect the distinct characters of text (plus unk if given), sort them, build cls(chars, unk).
        raise NotImplementedError(
            "w02.char_tokenizer: write CharTokenizer.from_text in exercises/week02_bigram/char_tokenizer.py"
        )

    def encode(self, text: str) -> list[int]:
        """Ids of the characters of `text`.

        Raises:
            ValueError: a character is not in the vocabulary and there is no `unk`; the message
                names the character and its position.
        """
        # TODO(w02.char_tokenizer): look each character up in self.stoi; unknown -> the unk id if self.unk is set,
        # else raise ValueError naming the character and its position.
        raise NotImplementedError(
            "w02.char_tokenizer: write CharTokenizer.encode in exercises/week02_bigram/char_tokenizer.py"
        )

    def decode(self, ids: list[int]) -> str:
        """The text of `ids`; decode(encode(s)) == s for every s made of vocabulary characters.

        Raises:
            ValueError: an id is outside 0..vocab_size-1.
        """
        # TODO(w02.char_tokenizer): map each id back through self.itos and join; raise ValueError for an id outside 0..V-1.
        raise NotImplementedError(
            "w02.char_tokenizer: write CharTokenizer.decode in exercises/week02_bigram/char_tokenizer.py"
        )

    def save(self, path: str | Path) -> None:
        """Write the vocabulary (and unk) to a JSON file, readable by `CharTokenizer.load`."""
        # TODO(w02.char_tokenizer): write {"kind": "char", "chars": ..., "unk": ...} as JSON to path.
        raise NotImplementedError(
            "w02.char_tokenizer: write CharTokenizer.save in exercises/week02_bigram/char_tokenizer.py"
        )

    @classmethod
    def load(cls, path: str | Path) -> "CharTokenizer":
        """Read a tokenizer written by `save`; it encodes every text exactly as the original did."""
        # TODO(w02.char_tokenizer): read the JSON written by save, check its kind, and rebuild cls(chars, unk=unk).
        raise NotImplementedError(
            "w02.char_tokenizer: write CharTokenizer.load in exercises/week02_bigram/char_tokenizer.py"
        )
