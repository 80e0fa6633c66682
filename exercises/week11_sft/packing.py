"""Sequence packing: several examples per row, with attention that stops at their boundaries.

Padding every example to the batch max wastes compute on pad tokens. Packing concatenates examples
into fixed-length rows instead; for the result to equal running each example alone, two things must
restart at every example: the position ids (0, 1, 2, ... again) and the attention (a token sees
only earlier tokens of its own example: a block-diagonal causal mask). Krell et al. 2021 ("Efficient
Sequence Packing without Cross-contamination") measure what is lost without them.
Check: `pytest checks/week11_sft/test_packing.py`
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
    (in a packed row that slot is the target of the previous example's last token). Position ids
    count 0, 1, ... from the start of each example. doc_ids holds the example's index in
    `examples`. Padding slots: input pad_id, label -100, position 0, doc id -1.

    Example: examples of lengths 3, 2, 4 and seq_len 5 -> 2 rows: [e0 e0 e0 e1 e1], [e2 e2 e2 e2 pad]
    with position_ids [[0, 1, 2, 0, 1], [0, 1, 2, 3, 0]] and doc_ids [[0, 0, 0, 1, 1], [2, 2, 2, 2, -1]].

    Raises:
        ValueError: if an example is longer than seq_len.

    Returns:
        input_ids, labels, position_ids, doc_ids: each (R, seq_len) int64.
    """
    # TODO(w11.packing): next-fit the examples into rows; first label -100, positions restart, doc ids
    raise NotImplementedError("w11.packing: pack")


def block_causal_mask(doc_ids: torch.Tensor) -> torch.Tensor:
    """Which keys each query may attend to in packed rows: same example and not in the future.

    Args:
        doc_ids: (B, T) int64 example index of every slot (-1 for padding; the padding slots of a
            row form one block of their own, so every query keeps at least itself).

    Returns:
        (B, T, T) bool, mask[b, i, j] = doc_ids[b, i] == doc_ids[b, j] and j <= i.
    """
    # TODO(w11.packing): same doc_id AND j <= i, as a (B, T, T) bool tensor
    raise NotImplementedError("w11.packing: block_causal_mask")


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
    """
    # TODO(w11.packing): the week-05 attention with attn_mask=mask in place of is_causal
    raise NotImplementedError("w11.packing: packed_attention")


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
    """
    # TODO(w11.packing): wte + wpe(position_ids), blocks with packed_attention, ln_f, lm_head
    raise NotImplementedError("w11.packing: forward_packed")
