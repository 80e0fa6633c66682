"""Count-based n-gram language models: count, smooth with add-k, score with mean NLL.

A bigram model (n=2) predicts each token from the one before it with the table
P[a, b] = count(a, b) / count(a, .); an n-gram model uses the n - 1 tokens before it. Counting is
the maximum-likelihood fit, so on its own training text no bigram model of any kind, neural ones
included, reaches a lower mean NLL than the counted table.
Check: `python tracker.py check w02.ngram_counts` (then w02.ngram_nll)
"""

import torch


def ngram_counts(ids: torch.Tensor, n: int, vocab_size: int) -> torch.Tensor:
    """Count every window of n consecutive tokens.

    Args:
        ids: (N,) int64 token ids in 0..V-1.
        n: the order: 1 counts tokens, 2 counts pairs, 3 counts triples.
        vocab_size: V.

    Returns:
        (V,) * n int64 tensor; counts[a, b] (for n=2) is how often b directly follows a.
        It sums to N - n + 1, the number of windows (0 if N < n).

    Example: ids=[0, 1, 0, 1, 1], n=2, V=2 -> [[0, 2], [1, 1]].
    """
    # TODO(w02.ngram_counts): return how often each window of n consecutive ids occurs
    raise NotImplementedError(
        "w02.ngram_counts: write ngram_counts in exercises/week02_bigram/ngram.py"
    )


def smoothed_log_probs(counts: torch.Tensor, k: float) -> torch.Tensor:
    """Add-k smoothed conditional log-probabilities log P(last token | the tokens before it).

    P[..., b] = (counts[..., b] + k) / (counts[...].sum() + k * V) along the last axis. k = 1 is
    Laplace smoothing; k -> 0 is the maximum-likelihood table, where unseen windows get -inf
    and contexts never seen at all get nan (0 / 0): use k > 0 to score text the counts never saw.

    Args:
        counts: (V,) * n counts from `ngram_counts`.
        k: pseudo-count added to every cell, k >= 0.

    Returns:
        float32 tensor of counts' shape; every row along the last axis exponentiates to a
        distribution (for k > 0, or for seen contexts).

    Example: counts [[0, 2], [1, 1]], k=1 -> P = [[1/4, 3/4], [2/4, 2/4]].
    """
    # TODO(w02.ngram_nll): return add-k smoothed log P(last token | the ones before)
    raise NotImplementedError(
        "w02.ngram_nll: write smoothed_log_probs in exercises/week02_bigram/ngram.py"
    )


def ngram_nll(log_probs: torch.Tensor, ids: torch.Tensor) -> float:
    """Mean negative log-likelihood (nats per token) of `ids` under an n-gram table.

    Each token from position n - 1 on is scored given the n - 1 tokens before it; the first n - 1
    tokens have no full context and are not scored.

    Args:
        log_probs: (V,) * n from `smoothed_log_probs`.
        ids: (N,) int64, N >= n.

    Returns:
        -mean of log_probs[ids[t - n + 1], ..., ids[t]] over t = n - 1 .. N - 1, a float.

    Example: a uniform table over V tokens gives ln V whatever the ids.
    """
    # TODO(w02.ngram_nll): return the mean -log P of every token that has a full context
    raise NotImplementedError("w02.ngram_nll: write ngram_nll in exercises/week02_bigram/ngram.py")
