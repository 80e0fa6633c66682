"""FastText: word vectors built from character n-grams, so unseen words get vectors too.

Bojanowski, Grave, Joulin & Mikolov 2017, "Enriching Word Vectors with Subword Information". A
word is wrapped in boundary markers, "<where>", and cut into its character n-grams for n in
[n_min, n_max] ("<wh", "whe", "her", "ere", "re>" for n = 3). Each n-gram is hashed (32-bit
FNV-1a of its UTF-8 bytes) into one of a fixed number of buckets, each bucket a row of vectors; a
word's vector is the mean of its n-gram rows and, for a word of the vocabulary, its own row. The
model trains exactly like skip-gram (word2vec.py's SkipGram.loss) with that mean as the center
vector, so "walking", never seen, still gets a vector from "<wa", "wal", "alk", "ing", "ng>"...
that it shares with "walked" and "talking".
Check: `python tracker.py check w03.subword_ngrams` (then w03.fasttext)
"""

import torch
from torch import nn

from .word2vec import SkipGram


def char_ngrams(word: str, n_min: int = 3, n_max: int = 6) -> list[str]:
    """The character n-grams of "<" + word + ">" for every n from n_min to n_max (both included).

    Characters are Python str characters (Unicode code points), not bytes. The n-grams come
    ordered by n, then by start (FastText's C++ lists them by start, then n: the same set); the
    whole "<word>" is among them when its length is in range, and a word too short for n_min
    has none. Duplicates are kept ("<aaaa>" has "aaa" twice). With n_min = 1 the markers "<" and
    ">" count as 1-grams like any character (FastText leaves those two out).

    Args:
        word: the word, without markers.
        n_min, n_max: the smallest and largest n, 1 <= n_min <= n_max.

    Returns:
        The n-grams, a list of str.

    Example: char_ngrams("where", 3, 3) -> ["<wh", "whe", "her", "ere", "re>"];
    char_ngrams("a") -> ["<a>"] (the only n-gram of 3 to 6 characters of "<a>");
    char_ngrams("日本", 3, 4) -> ["<日本", "日本>", "<日本>"].
    """
    # TODO(w03.subword_ngrams): return the n-grams of the marked word, n_min..n_max, by n then start
    raise NotImplementedError(
        "w03.subword_ngrams: write char_ngrams in exercises/week03_embeddings/subword.py"
    )


def fnv1a_32(text: str) -> int:
    """The 32-bit FNV-1a hash of the UTF-8 bytes of `text`, the hash FastText gives n-grams.

    Start from the offset basis 2166136261; for each byte: XOR it in, then multiply by the FNV
    prime 16777619, keeping 32 bits. (FastText's C++ casts each byte through int8_t first, so for
    the bytes >= 0x80 of non-ASCII text its hashes differ from standard FNV-1a; this function is
    the standard one, equal to FastText's on ASCII.) Python's hash() would not do: it is salted
    per process, so buckets would change from run to run.

    Args:
        text: any str.

    Returns:
        An int in [0, 2**32).

    Example: fnv1a_32("") -> 2166136261 (0x811c9dc5); fnv1a_32("a") -> 0xe40c292c;
    fnv1a_32("foobar") -> 0xbf9cf968 (the published FNV test vectors).
    """
    # TODO(w03.subword_ngrams): return the 32-bit FNV-1a hash of the UTF-8 bytes of text
    raise NotImplementedError(
        "w03.subword_ngrams: write fnv1a_32 in exercises/week03_embeddings/subword.py"
    )


def subword_ids(
    word: str, vocab: dict[str, int], buckets: int, n_min: int = 3, n_max: int = 6
) -> list[int]:
    """The rows of FastText's input table that make up `word`'s vector.

    The table has V = len(vocab) word rows, then `buckets` n-gram rows. A word of the vocabulary
    contributes its own row vocab[word] first; then every n-gram g of char_ngrams(word, n_min,
    n_max), in that order, contributes row V + fnv1a_32(g) % buckets. An unseen word has only
    n-gram rows.

    Args:
        word: any word.
        vocab: word -> id, ids 0..V-1.
        buckets: how many n-gram rows.
        n_min, n_max: as in char_ngrams.

    Returns:
        Row indices (Python ints); n-gram rows lie in [V, V + buckets).

    Example: vocab {"a": 0, "b": 1}, buckets 7: "a" -> [0, 2 + fnv1a_32("<a>") % 7] = [0, 4];
    the unseen "c" -> [2 + fnv1a_32("<c>") % 7] = [3].
    """
    # TODO(w03.subword_ngrams): return the word's own row (if any), then one bucket row per n-gram
    raise NotImplementedError(
        "w03.subword_ngrams: write subword_ids in exercises/week03_embeddings/subword.py"
    )


class SubwordEmbedding(nn.Module):
    """FastText's input vectors: a word's vector is the mean of the rows subword_ids names.

    `weight` is (V + buckets, C): V word rows, then the n-gram buckets, uniform in [-1/C, 1/C] as
    in FastText. For the vocabulary's words the rows are precomputed: `units` (V, L) holds each
    word's row ids, padded with 0 to the longest, and `mask` (V, L) is True on the real ones.

    Args:
        words: the vocabulary; words[i] has id i.
        buckets: how many n-gram rows.
        dim: C.
        n_min, n_max: the n-gram lengths.
    """

    def __init__(
        self, words: list[str], buckets: int, dim: int, n_min: int = 3, n_max: int = 6
    ) -> None:
        super().__init__()
        self.vocab = {w: i for i, w in enumerate(words)}
        self.buckets, self.n_min, self.n_max = buckets, n_min, n_max
        self.weight = nn.Parameter(torch.empty(len(words) + buckets, dim))
        nn.init.uniform_(self.weight, -1.0 / dim, 1.0 / dim)
        rows = [subword_ids(w, self.vocab, buckets, n_min, n_max) for w in words]
        L = max(len(r) for r in rows)
        units = torch.zeros(len(words), L, dtype=torch.long)
        mask = torch.zeros(len(words), L, dtype=torch.bool)
        for i, r in enumerate(rows):
            units[i, : len(r)] = torch.tensor(r)
            mask[i, : len(r)] = True
        self.register_buffer("units", units)
        self.register_buffer("mask", mask)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        """The vectors of vocabulary words: each the mean (not the sum) of its rows.

        Args:
            ids: (B,) int64 word ids.

        Returns:
            (B, C); the gradient reaches exactly the rows of each word's units.

        Example: a word whose units are rows [0, 7, 9] gets (weight[0] + weight[7] +
        weight[9]) / 3; padding rows never count.
        """
        # TODO(w03.fasttext): return each word's mean over its real rows, never the padding
        raise NotImplementedError(
            "w03.fasttext: write SubwordEmbedding.forward in exercises/week03_embeddings/subword.py"
        )

    def word_vector(self, word: str) -> torch.Tensor:
        """The vector of any word, in the vocabulary or not: the mean of its subword_ids rows.

        For a vocabulary word it equals forward(its id); an unseen word is the mean of its
        n-gram rows alone. A word with no rows at all (unseen and shorter than n_min - 2 letters)
        gets zeros.

        Returns:
            (C,), detached.

        Example: with buckets 7 and vocab {"a": 0, "b": 1}, the unseen "c" (rows [3]) gets
        weight[3].
        """
        # TODO(w03.fasttext): return the detached mean of any word's rows (zeros if it has none)
        raise NotImplementedError(
            "w03.fasttext: write SubwordEmbedding.word_vector in exercises/week03_embeddings/subword.py"
        )


class FastText(SkipGram):
    """Skip-gram with negative sampling whose center vectors are SubwordEmbedding means.

    The context table `out_embed` (V, C) and the loss are SkipGram's; only `in_embed` changes.

    Args:
        words: the vocabulary; words[i] has id i.
        buckets: how many n-gram rows (FastText's default is 2,000,000; a small corpus needs few).
        dim: C.
        n_min, n_max: the n-gram lengths (FastText's defaults: 3 and 6).
    """

    def __init__(
        self, words: list[str], buckets: int, dim: int, n_min: int = 3, n_max: int = 6
    ) -> None:
        super().__init__(len(words), dim)
        self.in_embed = SubwordEmbedding(words, buckets, dim, n_min, n_max)

    def word_vector(self, word: str) -> torch.Tensor:
        """The (C,) vector of any word; see SubwordEmbedding.word_vector."""
        return self.in_embed.word_vector(word)
