"""WordPiece encoding (BERT): greedy longest-match-first with "##" continuation pieces.

Each word is cut left to right: take the longest prefix that is in the vocabulary, then the longest
"##"-prefixed piece of what is left, and so on. If some position has no matching piece at all, the
whole word becomes "[UNK]" (not just the bad part). Schuster & Nakajima 2012; Devlin et al. 2019.
The reference behaviour is HF tokenizers' `models.WordPiece` after `BertPreTokenizer`.
Check: `python tracker.py check w06.wordpiece`
"""

import unicodedata


def is_punctuation(ch: str) -> bool:
    """BERT's punctuation: an ASCII symbol (not letter, digit, space) or Unicode class P*."""
    cp = ord(ch)
    if 33 <= cp <= 47 or 58 <= cp <= 64 or 91 <= cp <= 96 or 123 <= cp <= 126:
        return True
    return unicodedata.category(ch).startswith("P")


def bert_pretokenize(text: str) -> list[str]:
    """Split on whitespace, then cut every punctuation character out as a word of its own.

    Example: bert_pretokenize("Hi, you're 5€!") -> ["Hi", ",", "you", "'", "re", "5€", "!"]
    ("€" is a currency symbol, class Sc, not punctuation, so it stays in its word).
    """
    words = []
    for chunk in text.split():
        current = ""
        for ch in chunk:
            if is_punctuation(ch):
                if current:
                    words.append(current)
                    current = ""
                words.append(ch)
            else:
                current += ch
        if current:
            words.append(current)
    return words


def wordpiece_word(
    word: str,
    vocab: dict[str, int],
    unk: str = "[UNK]",
    prefix: str = "##",
    max_chars: int = 100,
) -> list[str]:
    """The WordPiece pieces of one word, greedy longest match first.

    Example with vocab {"un", "##aff", "##able", "##a"}: "unaffable" -> ["un", "##aff", "##able"]
    (at position 2 "##affable", "##affabl", ... are tried before "##aff" matches);
    "unx" -> ["[UNK]"] (nothing matches at "x", so the whole word is unknown).

    Args:
        word: one pre-tokenized word.
        vocab: piece -> id; continuation pieces carry `prefix`.
        unk: the piece for a word that cannot be cut.
        prefix: marks a piece that continues a word.
        max_chars: longer words are `unk` at once (counted in characters, not bytes).
    """
    # subtle: one unmatchable position makes the whole word [UNK], not only that part
    if len(word) > max_chars:
        return [unk]
    pieces = []
    start = 0
    while start < len(word):
        end = len(word)
        while end > start:
            piece = word[start:end] if start == 0 else prefix + word[start:end]
            if piece in vocab:
                break
            end -= 1
        else:
            return [unk]
        pieces.append(piece)
        start = end
    return pieces


def wordpiece_encode(text: str, vocab: dict[str, int], unk: str = "[UNK]") -> list[int]:
    """Ids of `text`: bert_pretokenize, then wordpiece_word on every word, each piece's vocab id.

    Example with vocab {"[UNK]": 0, "un": 1, "##aff": 2, "##able": 3, ",": 4}:
    wordpiece_encode("unaffable, unx") -> [1, 2, 3, 4, 0]; wordpiece_encode("") -> [].
    """
    # words are independent, so the ids are the concatenation of each word's pieces
    return [
        vocab[piece]
        for word in bert_pretokenize(text)
        for piece in wordpiece_word(word, vocab, unk)
    ]
