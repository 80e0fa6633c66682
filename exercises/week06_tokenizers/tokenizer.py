"""A byte-level BPE tokenizer: encode with a regex pre-tokenizer, decode, special tokens, save/load.

Encoding mirrors training: cut the text with the split pattern, turn each piece into UTF-8 bytes,
then apply the learned merges in rank order (lowest rank = learned first). Special tokens are cut
out before the split pattern ever sees the text, so "<|endoftext|>" is one id, never "<", "|", ...
The reference behaviour is tiktoken's (OpenAI) and HF tokenizers' BPE model given the same ranks.
Three exercises live here, in this order: w06.encode, w06.specials, w06.save_load.
Check: `python tracker.py check w06.encode`
"""

import json
import re
from itertools import repeat
from pathlib import Path

import regex

from .pairs import merge_pair
from .patterns import GPT4_SPLIT_PATTERN, SPECIAL_TOKENS
from .train import train_bpe

NO_MERGE = 1 << 62  # above every token id: the pair has no merge


def build_vocab(merges: dict[tuple[int, int], int]) -> dict[int, bytes]:
    """The bytes of every token: ids 0..255 are single bytes, a merge concatenates its pair.

    Example: merges={(97, 97): 256, (256, 98): 257} -> {..., 97: b"a", 256: b"aa", 257: b"aab"}.

    Args:
        merges: (left id, right id) -> new id, in rank order (a merge only uses earlier ids).
    """
    # TODO(w06.encode): return the bytes of every byte token and of every merged token.
    raise NotImplementedError(
        "w06.encode: write build_vocab in exercises/week06_tokenizers/tokenizer.py"
    )


def split_specials(text: str, specials: list[str] | tuple[str, ...]) -> list[str]:
    """Cut `text` into ordinary pieces and special tokens, in order; empty pieces are dropped.

    Specials match as literal text ("<|endoftext|>" and "a.b" are not regular expressions), and a
    longer special wins over a shorter one that starts at the same place.
    Example: split_specials("hi<EOS><BOS>yo", ["<BOS>", "<EOS>"]) -> ["hi", "<EOS>", "<BOS>", "yo"];
             split_specials("a<|x|>b", ["<|x", "<|x|>"]) -> ["a", "<|x|>", "b"];
             split_specials("plain", []) -> ["plain"].
    """
    # TODO(w06.specials): cut the text around every special it holds, keeping the specials.
    raise NotImplementedError(
        "w06.specials: write split_specials in exercises/week06_tokenizers/tokenizer.py"
    )


class BPETokenizer:
    """Byte-level BPE: 256 byte tokens, the learned merges, then the special tokens.

    Attributes:
        merges: (left id, right id) -> new id, in rank order; new id = 256 + rank.
        pattern: the split pattern (see patterns.py).
        special_tokens: special string -> id (ids after the merges).
        vocab: id -> bytes, specials included (their UTF-8 text).
    """

    def __init__(
        self,
        merges: dict[tuple[int, int], int],
        pattern: str = GPT4_SPLIT_PATTERN,
        special_tokens: dict[str, int] | None = None,
    ) -> None:
        self.merges = dict(merges)
        self.pattern = pattern
        self.compiled = regex.compile(pattern)
        self.special_tokens = dict(special_tokens or {})
        self.vocab = build_vocab(self.merges)
        for special, idx in self.special_tokens.items():
            self.vocab[idx] = special.encode("utf-8")
        self.cache: dict[str, list[int]] = {}  # pre-token -> ids, so repeated words cost one lookup

    @classmethod
    def train(
        cls,
        text: str,
        vocab_size: int,
        pattern: str = GPT4_SPLIT_PATTERN,
        special_tokens: tuple[str, ...] = SPECIAL_TOKENS,
    ) -> "BPETokenizer":
        """Train on `text` (vocab_size counts bytes + merges) and register the special tokens."""
        learned = train_bpe(text, vocab_size, pattern)
        merges = {pair: 256 + rank for rank, (pair, _count) in enumerate(learned)}
        first = 256 + len(merges)
        return cls(merges, pattern, {s: first + i for i, s in enumerate(special_tokens)})

    def __len__(self) -> int:
        return len(self.vocab)

    def encode_chunk(self, chunk: bytes) -> list[int]:
        """Token ids of one pre-token's bytes: apply merges lowest rank first until none applies.

        Example with merges {(97, 97): 256, (97, 98): 257, (256, 257): 258}:
            b"aaab" -> [97, 97, 97, 98] -> [256, 97, 98] -> [256, 257] -> [258].
        """
        # TODO(w06.encode): return the chunk's ids once every applicable merge ran, by rank.
        raise NotImplementedError(
            "w06.encode: write BPETokenizer.encode_chunk in exercises/week06_tokenizers/tokenizer.py"
        )

    def encode_ordinary(self, text: str) -> list[int]:
        """Ids of `text`, specials treated as plain text: split, then encode_chunk each piece.

        The pieces are self.compiled.findall(text), each encoded from its UTF-8 bytes. Each
        distinct piece is encoded once: its ids are kept in self.cache[piece] (the piece as a str)
        and reused. Example with no merges: encode_ordinary("hi hi") == [104, 105, 32, 104, 105],
        after which self.cache == {"hi": [104, 105], " hi": [32, 104, 105]}.
        """
        # TODO(w06.encode): return the ids of every piece of the text, each distinct piece encoded once.
        raise NotImplementedError(
            "w06.encode: write BPETokenizer.encode_ordinary in exercises/week06_tokenizers/tokenizer.py"
        )

    def encode(self, text: str) -> list[int]:
        """Ids of `text` where every registered special token becomes its single id.

        Example: encode("hi<EOS>") == encode_ordinary("hi") + [special_tokens["<EOS>"]].
        """
        # TODO(w06.specials): return the ids of the text with each registered special as its one id.
        raise NotImplementedError(
            "w06.specials: write BPETokenizer.encode in exercises/week06_tokenizers/tokenizer.py"
        )

    def decode(self, ids: list[int]) -> str:
        """Text of `ids`: join the tokens' bytes, then decode UTF-8 once (invalid bytes -> U+FFFD).

        A character split across tokens comes back whole. Example with no merges: decode([226,
        130, 172]) == "€" (its three UTF-8 bytes); decode([226]) == "\ufffd"; decode(encode(s)) ==
        s for every string s.
        """
        # TODO(w06.encode): return the text of the ids, characters split across tokens intact.
        raise NotImplementedError(
            "w06.encode: write BPETokenizer.decode in exercises/week06_tokenizers/tokenizer.py"
        )

    def save(self, path: str | Path) -> None:
        """Write the tokenizer as plain text: a header, the pattern, the specials, one merge a line.

        Format (strings JSON-quoted so any character survives; merge r creates id 256 + r):
            week06-bpe v1
            pattern "<the split pattern>"
            specials 2
            "<BOS>" 259
            "<EOS>" 260
            merges 3
            97 97
            97 98
            256 257
        """
        # TODO(w06.save_load): write the tokenizer to path in exactly the format above.
        raise NotImplementedError(
            "w06.save_load: write BPETokenizer.save in exercises/week06_tokenizers/tokenizer.py"
        )

    @classmethod
    def load(cls, path: str | Path) -> "BPETokenizer":
        """Read a file written by `save`; the result encodes exactly like the saved tokenizer.

        Merge line r (from 0) gets id 256 + r. Example: the file in save's docstring gives merges
        {(97, 97): 256, (97, 98): 257, (256, 257): 258} and specials {"<BOS>": 259, "<EOS>": 260}.

        Raises:
            ValueError: the first line is not "week06-bpe v1".
        """
        # TODO(w06.save_load): return the tokenizer that save wrote to path.
        raise NotImplementedError(
            "w06.save_load: write BPETokenizer.load in exercises/week06_tokenizers/tokenizer.py"
        )
