"""BPE training by its definition: recount every pair after every merge (minbpe's basic trainer).

This is the trainer to write first. It is slow (every merge rereads the whole text), but each line
says what BPE is; the incremental trainer of train.py must learn exactly the same merges, faster.

Tie-breaking rule (deterministic): the most frequent pair wins; among pairs with the same count,
the smallest pair (left id, then right id) wins. Merge number r (its rank, from 0) creates
id 256 + r.
Check: `python tracker.py check w06.naive_train`
"""

import regex

from .pairs import merge_pair, pair_counts
from .patterns import GPT4_SPLIT_PATTERN


def train_bpe_naive(
    text: str, vocab_size: int, pattern: str = GPT4_SPLIT_PATTERN
) -> list[tuple[tuple[int, int], int]]:
    """Learn `vocab_size - 256` merges from `text` by recounting all pairs before each merge.

    Cut the text into words with `pattern` (pairs never cross a word boundary), take each word's
    UTF-8 bytes, then repeat: count every adjacent pair of every word (pair_counts), pick the most
    frequent pair (ties: the smallest pair), record it, replace it in every word (merge_pair).
    Same worked example as train_bpe:
        train_bpe_naive("aaabdaaabac", 259) == [((97, 97), 4), ((97, 98), 2), ((256, 257), 2)]

    Args:
        text: training text.
        vocab_size: 256 byte tokens plus the number of merges to learn.
        pattern: regex that cuts the text into words.

    Returns:
        The merges in rank order, each as ((left id, right id), count of the pair when merged).
        Fewer than asked if the text runs out of pairs.
    """
    # TODO(w06.naive_train): learn the merges by BPE's definition, every pair recounted each round.
    raise NotImplementedError(
        "w06.naive_train: write train_bpe_naive in exercises/week06_tokenizers/naive.py"
    )
