"""Train a byte-level BPE incrementally: count words once, update only what a merge touches.

The naive trainer recounts every pair of the whole text after every merge: O(merges x text).
Here the text is cut into words by the split pattern, identical words are counted once (with their
frequency), and a merge only revisits the words that contain the merged pair, adjusting the pair
counts by the difference. A heap with lazy deletion finds the most frequent pair quickly.

Tie-breaking rule (deterministic): the most frequent pair wins; among pairs with the same count,
the smallest pair (left id, then right id) wins. Merge number r (its rank, from 0) creates
id 256 + r.
Check: `python tracker.py check w06.train`
"""

import heapq
from collections import Counter, defaultdict

import regex

from .pairs import merge_pair, pair_counts
from .patterns import GPT4_SPLIT_PATTERN


def train_bpe(
    text: str, vocab_size: int, pattern: str = GPT4_SPLIT_PATTERN
) -> list[tuple[tuple[int, int], int]]:
    """Learn `vocab_size - 256` merges from `text`, most frequent pair first.

    Worked example (pattern leaves "aaabdaaabac" as one word; a=97, b=98, c=99, d=100):
        aaabdaaabac: aa occurs 4 times (overlaps count)  -> merge (97, 97) = 256, count 4
        Z a b d Z a b a c (Z=256): (256, 97) and (97, 98) both occur twice; the tie goes to the
            smaller pair (97, 98)                         -> merge (97, 98) = 257, count 2
        Z Y d Z Y a c (Y=257): (256, 257) occurs twice    -> merge (256, 257) = 258, count 2
        train_bpe("aaabdaaabac", 259) == [((97, 97), 4), ((97, 98), 2), ((256, 257), 2)]

    Args:
        text: training text.
        vocab_size: 256 byte tokens plus the number of merges to learn (specials not included).
        pattern: regex that cuts the text into words; pairs never cross a word boundary.

    Returns:
        The merges in rank order, each as ((left id, right id), count of the pair when merged).
        Fewer than asked if the text runs out of pairs.
    """
    # TODO(w06.train): learn train_bpe_naive's merges, revisiting only the words a merge changes.
    raise NotImplementedError("w06.train: write train_bpe in exercises/week06_tokenizers/train.py")
