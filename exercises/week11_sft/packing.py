"""Sequence packing: several examples per row, with attention that stops at their boundaries.

Padding every example to the batch max wastes compute on pad tokens. Packing concatenates examples
into fixed-length rows instead; for the result to equal running each example alone, two things must
restart at every example: the position ids (0, 1, 2, ... again) and the attention (a token sees
only earlier tokens of its own example: a block-diagonal causal mask). Krell et al. 2021 ("Efficient
Sequence Packing without Cross-contamination") measure what is lost without them.
Check: `python tracker.py check w11.packing`
"""

import torch
import torch.nn.functional as F

from solutions.week05_gpt.model import GPT, CausalSelfAttention

from .masking import IGNORE


def pack(
    examples: list[tuple[list[int], list[int]]], seq_len: int, pad_id: int
) -> dict[str, torch.Tensor]:
    """Pack (input_ids, labels) examples into rows of exactly seq_len tokens, in order.

    Next-fit: examples go into the current row in the order given; when the next one does not fit
    in what is left of the row, the row is padded and a new row starts. Never split or reorder.
    Inside a row each example keeps its ids and labels, except that its FIRST label becomes -100
    (in a packed row that slot is the target of the previous example's last token; the first
    example of a row too, so that every example is packed the same way). Position ids
    count 0, 1, ... from the start of each example. doc_ids holds the example's index in
    `examples`. Padding slots: input pad_id, label -100, position 0, doc id -1.

    Example: examples of lengths 3, 2, 4 and seq_len 5 -> 2 rows: [e0 e0 e0 e1 e1], [e2 e2 e2 e2 pad]
    with position_ids [[0, 1, 2, 0, 1], [0, 1, 2, 3, 0]] and doc_ids [[0, 0, 0, 1, 1], [2, 2, 2, 2, -1]].

    Raises:
        ValueError: if an example is longer than seq_len.

    Returns:
        input_ids, labels, position_ids, doc_ids: each (R, seq_len) int64.
    """
    # TODO(w11.packing): return packed rows; each example keeps its ids, own positions, doc id
    raise NotImplementedError("w11.packing: write pack in exercises/week11_sft/packing.py")


def block_causal_mask(doc_ids: torch.Tensor) -> torch.Tensor:
    """Which keys each query may attend to in packed rows: same example and not in the future.

    Args:
        doc_ids: (B, T) int64 example index of every slot (-1 for padding; the padding slots of a
            row form one block of their own, so every query keeps at least itself).

    Returns:
        (B, T, T) bool, mask[b, i, j] = doc_ids[b, i] == doc_ids[b, j] and j <= i.

    Example: doc_ids [[0, 0, 1, -1, -1]] -> rows [1, 0, 0, 0, 0], [1, 1, 0, 0, 0],
    [0, 0, 1, 0, 0], [0, 0, 0, 1, 0], [0, 0, 0, 1, 1] (True as 1).
    """
    # TODO(w11.packing): return which keys each query may see: its own example, no future
    raise NotImplementedError(
        "w11.packing: write block_causal_mask in exercises/week11_sft/packing.py"
    )


def packed_attention(
    attn: CausalSelfAttention, x: torch.Tensor, mask: torch.Tensor
) -> torch.Tensor:
    """The week-05 attention layer's computation with an explicit (B, T, T) bool mask.

    Args:
        attn: a week-05 CausalSelfAttention (its c_attn, c_proj and n_head are used).
        x: (B, T, C) input of the layer.
        mask: (B, T, T) bool from block_causal_mask (True = may attend).

    Returns:
        (B, T, C): c_proj of softmax(q k^T / sqrt(D) with -inf where mask is False) v, heads merged.

    Example: with mask = the plain causal mask (ones(T, T).tril() for every row) the result equals
    attn(x) in eval mode; a block-diagonal mask makes each block attend only inside itself.
    """
    # TODO(w11.packing): return the layer's attention output with the mask deciding what is seen
    raise NotImplementedError(
        "w11.packing: write packed_attention in exercises/week11_sft/packing.py"
    )


def forward_packed(
    model: GPT, input_ids: torch.Tensor, position_ids: torch.Tensor, doc_ids: torch.Tensor
) -> torch.Tensor:
    """Logits of the week-05 GPT on packed rows: positions restart and attention stays inside
    each example, so every example's logits equal those of running it alone.

    Args:
        model: a week-05 GPT (eval mode for exact equality: no dropout).
        input_ids, position_ids, doc_ids: (B, T) int64 from pack.

    Returns:
        (B, T, V) logits.

    Example: examples of lengths 3, 2, 4 packed into rows of 5: the logits of row 0 at slots 3..4
    equal model(example 1 alone)[0][0] (its 2 positions), up to float rounding.
    """
    # TODO(w11.packing): return packed logits equal to each example's logits alone
    raise NotImplementedError(
        "w11.packing: write forward_packed in exercises/week11_sft/packing.py"
    )
