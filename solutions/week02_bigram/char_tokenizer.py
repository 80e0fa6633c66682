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
        # sorting makes the ids a function of the character set alone, not of the text's order
        chars = set(text) | ({unk} if unk is not None else set())
        return cls(sorted(chars), unk=unk)

    def encode(self, text: str) -> list[int]:
        """Ids of the characters of `text`.

        Example: from_text("hello").encode("hole") -> [1, 3, 2, 0];
        from_text("hello", unk="?").encode("hex") -> [2, 1, 0] (chars ['?', 'e', 'h', 'l', 'o']).

        Raises:
            ValueError: a character is not in the vocabulary and there is no `unk`; the message
                names the character and its position (from_text("hello").encode("hex"): 'x' at 2).
        """
        # an unknown character is an error unless an unk was chosen when building the tokenizer
        ids = []
        for position, c in enumerate(text):
            i = self.stoi.get(c)
            if i is None:
                if self.unk is None:
                    raise ValueError(
                        f"character {c!r} at position {position} is not in the vocabulary"
                    )
                i = self.stoi[self.unk]
            ids.append(i)
        return ids

    def decode(self, ids: list[int]) -> str:
        """The text of `ids`; decode(encode(s)) == s for every s made of vocabulary characters.

        Example: from_text("hello").decode([1, 0, 2, 2, 3]) -> "hello"; decode([4]) raises.

        Raises:
            ValueError: an id is outside 0..vocab_size-1.
        """
        # ids come from models too, so an out-of-range id is reported rather than wrapped
        out = []
        for i in ids:
            i = int(i)
            if i not in self.itos:
                raise ValueError(f"id {i} is outside the vocabulary 0..{self.vocab_size - 1}")
            out.append(self.itos[i])
        return "".join(out)

    def save(self, path: str | Path) -> None:
        """Write the vocabulary (and unk) to a JSON file, readable by `CharTokenizer.load`.

        Example: from_text("hi", unk="?").save(p) writes a JSON text file from which
        CharTokenizer.load(p) rebuilds chars ['?', 'h', 'i'] and unk '?'.
        """
        # JSON keeps every character readable, newlines and quotes escaped
        data = {"kind": "char", "chars": self.chars, "unk": self.unk}
        Path(path).write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> "CharTokenizer":
        """Read a tokenizer written by `save`; it encodes every text exactly as the original did.

        Example: after from_text("hi", unk="?").save(p), load(p).encode("hi!") -> [1, 2, 0].

        Raises:
            ValueError: the file does not hold a character tokenizer (written by another `save`).
        """
        # the saved list is the id order, so rebuilding from it restores every id
        data = json.loads(Path(path).read_text(encoding="utf-8"))
        if data.get("kind") != "char":
            raise ValueError(f"{path} does not hold a character tokenizer")
        return cls(data["chars"], unk=data["unk"])
