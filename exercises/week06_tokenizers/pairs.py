"""The two primitives of BPE: count adjacent pairs, and replace one pair by a new token.

Byte-level BPE (Sennrich et al. 2016; GPT-2's byte-level variant) starts from the UTF-8 bytes of
the text, ids 0..255, and repeatedly replaces the most frequent adjacent pair by a new id.
Check: `python tracker.py check w06.pairs`
"""


def pair_counts(
    ids: list[int], counts: dict[tuple[int, int], int] | None = None, weight: int = 1
) -> dict[tuple[int, int], int]:
    """Count every adjacent pair of `ids`, overlapping pairs included.

    Adds into `counts` when given (so one table can collect many words), each occurrence counted
    `weight` times (a word that occurs 7 times in the corpus contributes 7 per pair).
    Example: ids=[1, 2, 3, 1, 2] -> {(1, 2): 2, (2, 3): 1, (3, 1): 1};
             ids=[5, 5, 5] -> {(5, 5): 2} (the two pairs overlap, both count).

    Returns:
        The dict of counts (the same object as `counts` when it was given).
    """
    # TODO(w06.pairs): count every adjacent pair of ids, `weight` per occurrence, into `counts`.
    raise NotImplementedError(
        "w06.pairs: write pair_counts in exercises/week06_tokenizers/pairs.py"
    )


def merge_pair(ids: list[int], pair: tuple[int, int], new_id: int) -> list[int]:
    """Replace every occurrence of `pair` in `ids` by `new_id`, scanning left to right.

    Occurrences never overlap: after a match the scan jumps past both tokens.
    Example: ids=[1, 2, 3, 1, 2], pair=(1, 2), new_id=4 -> [4, 3, 4];
             ids=[5, 5, 5], pair=(5, 5), new_id=9 -> [9, 5] (not [9, 9], not [5, 9]).

    Returns:
        A new list; `ids` is not modified.
    """
    # TODO(w06.pairs): return ids with each non-overlapping occurrence of pair replaced by new_id.
    raise NotImplementedError("w06.pairs: write merge_pair in exercises/week06_tokenizers/pairs.py")
