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
    # dicts keep insertion order, so both halves of a merge already have their bytes
    vocab = {i: bytes([i]) for i in range(256)}
    for (left, right), new_id in merges.items():
        vocab[new_id] = vocab[left] + vocab[right]
    return vocab


def split_specials(text: str, specials: list[str] | tuple[str, ...]) -> list[str]:
    """Cut `text` into ordinary pieces and special tokens, in order; empty pieces are dropped.

    Specials match as literal text ("<|endoftext|>" and "a.b" are not regular expressions), and a
    longer special wins over a shorter one that starts at the same place.
    Example: split_specials("hi<EOS><BOS>yo", ["<BOS>", "<EOS>"]) -> ["hi", "<EOS>", "<BOS>", "yo"];
             split_specials("a<|x|>b", ["<|x", "<|x|>"]) -> ["a", "<|x|>", "b"];
             split_specials("plain", []) -> ["plain"].
    """
    # one alternation of the escaped specials, longest first; the capture group keeps them in split
    if not specials:
        return [text] if text else []
    alternation = "|".join(re.escape(s) for s in sorted(specials, key=len, reverse=True))
    return [piece for piece in re.split(f"({alternation})", text) if piece]


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
        # subtle: the order is by rank, not left to right; a later merge may only run once its
        # parts exist. merge ids grow with rank, so the smallest new id is the earliest merge.
        ids = list(chunk)
        # new_ids[i]: the id the pair (ids[i], ids[i + 1]) merges into, NO_MERGE if none
        new_ids = list(map(self.merges.get, zip(ids, ids[1:]), repeat(NO_MERGE)))
        while len(ids) >= 2:
            best = min(new_ids)
            if best == NO_MERGE:
                break
            at = new_ids.index(best)
            if new_ids.count(best) > 1:  # rare: the pair occurs twice; merge_pair takes them all
                ids = merge_pair(ids, (ids[at], ids[at + 1]), best)
                new_ids = list(map(self.merges.get, zip(ids, ids[1:]), repeat(NO_MERGE)))
                continue
            # the usual case: one occurrence, merged in place; only the two pairs that touch the
            # new token change, so look up just those instead of every pair again
            ids[at : at + 2] = [best]
            del new_ids[at]
            if at > 0:
                new_ids[at - 1] = self.merges.get((ids[at - 1], best), NO_MERGE)
            if at < len(new_ids):
                new_ids[at] = self.merges.get((best, ids[at + 1]), NO_MERGE)
        return ids

    def encode_ordinary(self, text: str) -> list[int]:
        """Ids of `text`, specials treated as plain text: split, then encode_chunk each piece.

        The pieces are self.compiled.findall(text), each encoded from its UTF-8 bytes. Each
        distinct piece is encoded once: its ids are kept in self.cache[piece] (the piece as a str)
        and reused. Example with no merges: encode_ordinary("hi hi") == [104, 105, 32, 104, 105],
        after which self.cache == {"hi": [104, 105], " hi": [32, 104, 105]}.
        """
        # words repeat a lot (" the", ","), so each distinct piece is merged only once
        ids: list[int] = []
        for piece in self.compiled.findall(text):
            cached = self.cache.get(piece)
            if cached is None:
                cached = self.cache[piece] = self.encode_chunk(piece.encode("utf-8"))
            ids.extend(cached)
        return ids

    def encode(self, text: str) -> list[int]:
        """Ids of `text` where every registered special token becomes its single id.

        Example: encode("hi<EOS>") == encode_ordinary("hi") + [special_tokens["<EOS>"]].
        """
        # specials are cut out first, so neither the split pattern nor the merges ever see them
        ids: list[int] = []
        for piece in split_specials(text, list(self.special_tokens)):
            if piece in self.special_tokens:
                ids.append(self.special_tokens[piece])
            else:
                ids.extend(self.encode_ordinary(piece))
        return ids

    def decode(self, ids: list[int]) -> str:
        """Text of `ids`: join the tokens' bytes, then decode UTF-8 once (invalid bytes -> U+FFFD).

        A character split across tokens comes back whole. Example with no merges: decode([226,
        130, 172]) == "€" (its three UTF-8 bytes); decode([226]) == "\ufffd"; decode(encode(s)) ==
        s for every string s.
        """
        # subtle: decode the joined bytes, not token by token: one emoji can span several tokens
        return b"".join(self.vocab[i] for i in ids).decode("utf-8", errors="replace")

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
        # every line but the merges is self-describing, so a human can read and diff the file
        lines = ["week06-bpe v1", f"pattern {json.dumps(self.pattern)}"]
        lines.append(f"specials {len(self.special_tokens)}")
        lines += [f"{json.dumps(s)} {idx}" for s, idx in self.special_tokens.items()]
        lines.append(f"merges {len(self.merges)}")
        lines += [f"{left} {right}" for left, right in self.merges]
        Path(path).write_text("\n".join(lines) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: str | Path) -> "BPETokenizer":
        """Read a file written by `save`; the result encodes exactly like the saved tokenizer.

        Merge line r (from 0) gets id 256 + r. Example: the file in save's docstring gives merges
        {(97, 97): 256, (97, 98): 257, (256, 257): 258} and specials {"<BOS>": 259, "<EOS>": 260}.

        Raises:
            ValueError: the first line is not "week06-bpe v1".
        """
        # merges are written in rank order, so their ids are recovered as 256 + line number
        lines = Path(path).read_text(encoding="utf-8").split("\n")
        if lines[0] != "week06-bpe v1":
            raise ValueError(f"{path}: not a week06-bpe v1 file (first line {lines[0]!r})")
        pattern = json.loads(lines[1].removeprefix("pattern "))
        n_specials = int(lines[2].removeprefix("specials "))
        specials = {}
        for line in lines[3 : 3 + n_specials]:
            text, idx = line.rsplit(" ", 1)
            specials[json.loads(text)] = int(idx)
        at = 3 + n_specials
        n_merges = int(lines[at].removeprefix("merges "))
        merges = {}
        for rank, line in enumerate(lines[at + 1 : at + 1 + n_merges]):
            left, right = line.split()
            merges[(int(left), int(right))] = 256 + rank
        return cls(merges, pattern, specials)
