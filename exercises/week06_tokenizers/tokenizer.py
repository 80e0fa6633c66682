"""A byte-level BPE tokenizer: encode with a regex pre-tokenizer, decode, special tokens, save/load.

Encoding mirrors training: cut the text with the split pattern, turn each piece into UTF-8 bytes,
then apply the learned merges in rank order (lowest rank = learned first). Special tokens are cut
out before the split pattern ever sees the text, so "<|endoftext|>" is one id, never "<", "|", ...
The reference behaviour is tiktoken's (OpenAI) and HF tokenizers' BPE model given the same ranks.
Check: `python tracker.py check w06.encode` (then w06.specials, w06.save_load)
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
    # TODO(w06.encode): bytes([i]) for the 256 bytes, then
    # vocab[new] = vocab[left] + vocab[right] in merge order.
    raise NotImplementedError(
        "w06.encode: write build_vocab in exercises/week06_tokenizers/tokenizer.py"
    )


def split_specials(text: str, specials: list[str] | tuple[str, ...]) -> list[str]:
    """Cut `text` into ordinary pieces and special tokens, in order; empty pieces are dropped.

    A longer special wins over a shorter one that starts at the same place.
    Example: split_specials("hi<EOS><BOS>yo", ["<BOS>", "<EOS>"]) -> ["hi", "<EOS>", "<BOS>", "yo"];
             split_specials("plain", []) -> ["plain"].
    """
    # TODO(w06.specials): re.split on an alternation of re.escape'd specials (longest
    # first) inside a capture group; drop empty pieces.
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
        # TODO(w06.encode): merge the adjacent pair of lowest rank (its self.merges value),
        # again and again, until no adjacent pair is a merge.
        raise NotImplementedError(
            "w06.encode: write BPETokenizer.encode_chunk in exercises/week06_tokenizers/tokenizer.py"
        )

    def encode_ordinary(self, text: str) -> list[int]:
        """Ids of `text`, specials treated as plain text: split, then encode_chunk each piece."""
        # TODO(w06.encode): self.compiled.findall the text, encode_chunk each piece's UTF-8
        # bytes, remember each piece's ids in self.cache.
        raise NotImplementedError(
            "w06.encode: write BPETokenizer.encode_ordinary in exercises/week06_tokenizers/tokenizer.py"
        )

    def encode(self, text: str) -> list[int]:
        """Ids of `text` where every registered special token becomes its single id.

        Example: encode("hi<EOS>") == encode_ordinary("hi") + [special_tokens["<EOS>"]].
        """
        # TODO(w06.specials): split_specials first; a special piece becomes its id, other
        # pieces go through encode_ordinary.
        raise NotImplementedError(
            "w06.specials: write BPETokenizer.encode in exercises/week06_tokenizers/tokenizer.py"
        )

    def decode(self, ids: list[int]) -> str:
        """Text of `ids`: join the tokens' bytes, then decode UTF-8 once (invalid bytes -> U+FFFD).

        Example: decode(encode(s)) == s for every string s.
        """
        # TODO(w06.encode): join self.vocab[i] of all ids into one bytes object, then
        # decode UTF-8 with errors="replace".
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
        # TODO(w06.save_load): write the lines shown in the docstring (json.dumps the
        # pattern and the specials).
        raise NotImplementedError(
            "w06.save_load: write BPETokenizer.save in exercises/week06_tokenizers/tokenizer.py"
        )

    @classmethod
    def load(cls, path: str | Path) -> "BPETokenizer":
        """Read a file written by `save`; the result encodes exactly like the saved tokenizer."""
        # TODO(w06.save_load): parse the lines written by save; merge number r gets id
        # 256 + r; return cls(merges, pattern, specials).
        raise NotImplementedError(
            "w06.save_load: write BPETokenizer.load in exercises/week06_tokenizers/tokenizer.py"
        )
