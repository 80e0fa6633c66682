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
    # count each distinct word once; a word seen f times adds f to each of its pairs
    word_freq = Counter(regex.findall(pattern, text))
    words = [list(word.encode("utf-8")) for word in word_freq]
    freqs = list(word_freq.values())
    counts: dict[tuple[int, int], int] = {}
    where: dict[tuple[int, int], set[int]] = defaultdict(set)  # pair -> words that contain it
    for i, (word, freq) in enumerate(zip(words, freqs)):
        pair_counts(word, counts, freq)
        for pair in zip(word, word[1:]):
            where[pair].add(i)
    # heap of (-count, pair): the top is the most frequent pair, ties -> the smallest pair.
    # Only pairs that hold the new token gain count (they are new); every other pair can only
    # lose. So a pair is pushed once when it appears; after a loss its entry stays, too high,
    # and is fixed when it reaches the top (far fewer pushes than one per change).
    heap = [(-count, pair) for pair, count in counts.items()]
    heapq.heapify(heap)
    merges = []
    while len(merges) < vocab_size - 256 and heap:
        neg_count, pair = heapq.heappop(heap)
        count = counts.get(pair, 0)
        if count != -neg_count:
            # subtle: stale entry, the pair's count changed after it was pushed; a pair that is
            # still there goes back in with its current count
            if count:
                heapq.heappush(heap, (-count, pair))
            continue
        new_id = 256 + len(merges)
        merges.append((pair, count))
        left, right = pair
        # take each changed word's old pairs out and its new pairs in, summed over all the words
        # first: pairs the merge did not touch net to zero and are neither updated nor re-pushed
        delta: dict[tuple[int, int], int] = defaultdict(int)
        for i in where.pop(pair):
            word, freq = words[i], freqs[i]
            if left not in word or right not in word:
                continue  # an earlier merge took one of the ids, so the pair, out of this word
            merged = merge_pair(word, pair, new_id)
            if len(merged) == len(word):
                continue  # an earlier merge already took the pair out of this word
            words[i] = merged
            for old in zip(word, word[1:]):
                delta[old] -= freq
            for new in zip(merged, merged[1:]):
                delta[new] += freq
                if new_id in new:  # only pairs with the new token are new to this word
                    where[new].add(i)
        for p, d in delta.items():
            if not d:
                continue
            count = counts.get(p, 0) + d
            if count > 0:
                counts[p] = count
                if d > 0:  # a new pair: it holds new_id
                    heapq.heappush(heap, (-count, p))
            else:
                counts.pop(p, None)
    return merges
