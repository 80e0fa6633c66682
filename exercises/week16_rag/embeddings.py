"""Sentence embeddings: mean pooling over a transformer's token states, then L2 normalisation.

all-MiniLM-L6-v2 (Reimers & Gurevych 2019, Sentence-BERT; Wang et al. 2020, MiniLM) embeds a
sentence as the average of its last-layer token vectors, padding excluded, scaled to length 1 so
that a dot product is a cosine similarity. Here you rebuild what `SentenceTransformer.encode(...,
normalize_embeddings=True)` does from a transformers AutoModel and its tokenizer; the checks compare
with sentence-transformers on the bundled all-MiniLM-L6-v2.
Check: `python tracker.py check w16.embeddings`
"""

import torch


def mean_pool(hidden: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
    """Average the token vectors of each sequence over its real tokens only (mask 1), not padding.

    The divisor is the number of real tokens, clamped below at 1e-9 (as sentence-transformers
    does), so a row with no real token gives zeros instead of NaN.
    Example: hidden [[[1, 2], [3, 4], [9, 9]]], mask [[1, 1, 0]] -> [[2., 3.]].

    Args:
        hidden: (B, T, C) last-layer token states.
        attention_mask: (B, T) 1 for real tokens, 0 for padding (int or bool).

    Returns:
        (B, C) in hidden's dtype.
    """
    # TODO(w16.embeddings): return each row's average over its real tokens only
    raise NotImplementedError(
        "w16.embeddings: write mean_pool in exercises/week16_rag/embeddings.py"
    )


def l2_normalize(x: torch.Tensor, eps: float = 1e-12) -> torch.Tensor:
    """Scale each row of `x` to Euclidean length 1: x / max(||x||, eps).

    A zero row stays zero (divided by eps). From scratch: `torch.nn.functional.normalize` is
    off-limits in the checks. Example: [[3., 4.]] -> [[0.6, 0.8]].

    Args:
        x: (N, C).

    Returns:
        (N, C), a new tensor.
    """
    # TODO(w16.embeddings): return x with every row scaled to length 1 (zero rows stay zero)
    raise NotImplementedError(
        "w16.embeddings: write l2_normalize in exercises/week16_rag/embeddings.py"
    )


def embed_texts(
    texts: list[str], tokenizer, model, batch_size: int = 32, max_length: int = 256
) -> torch.Tensor:
    """Embed `texts` with a transformers encoder: tokenize, forward, `mean_pool`, `l2_normalize`.

    Works batch by batch (`batch_size` texts at a time, padded to the longest in the batch,
    truncated to `max_length` tokens), under torch.no_grad(); the result does not depend on
    batch_size. With MiniLM's tokenizer and `SentenceTransformer(...)[0].auto_model` this equals
    `SentenceTransformer.encode(texts, normalize_embeddings=True)` to 1e-5 (its max_seq_length is
    256). From scratch: `SentenceTransformer.encode` and `torch.nn.functional.normalize` are
    off-limits in the checks.

    Args:
        texts: N strings.
        tokenizer: a transformers tokenizer (called as tokenizer(batch, padding=True,
            truncation=True, max_length=max_length, return_tensors="pt")).
        model: a transformers AutoModel whose output has `last_hidden_state` (B, T, C).
        batch_size: texts per forward pass.
        max_length: longest token sequence kept.

    Returns:
        (N, C) float32, rows of length 1, in the order of `texts`.

    Example: embed_texts(["Paris is the capital of France.", "Hi"], tok, minilm) is (2, 384),
    each row of length 1; with max_length=8 every text is cut to 8 word pieces ([CLS], 6 pieces,
    [SEP]) first, as sentence-transformers does with max_seq_length 8.
    """
    # TODO(w16.embeddings): return sentence-transformers' normalised embeddings, computed by hand
    raise NotImplementedError(
        "w16.embeddings: write embed_texts in exercises/week16_rag/embeddings.py"
    )
