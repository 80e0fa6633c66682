"""The masked-LM objective of BERT (Devlin et al. 2018): hide 15% of the tokens, predict them back.

An encoder sees the whole sequence at once (no causal mask), so "predict the next token" would be
trivial; instead some inputs are corrupted and the loss is taken only where they were.
Check: `python tracker.py check w05.mlm`
"""

import torch
import torch.nn.functional as F


def mask_tokens(
    ids: torch.Tensor,
    mask_id: int,
    vocab_size: int,
    generator: torch.Generator,
    mask_prob: float = 0.15,
    special_ids: tuple[int, ...] = (),
) -> tuple[torch.Tensor, torch.Tensor]:
    """BERT's 80/10/10 corruption.

    Each position whose token is not in `special_ids` is selected independently with probability
    `mask_prob`. Of the selected: 80% become `mask_id`, 10% a uniformly random token id in
    [0, vocab_size), 10% keep their token. The model must predict every selected token.

    Args:
        ids: (B, T) int64 token ids.
        mask_id: the [MASK] token id.
        vocab_size: V, for the random replacements.
        generator: a seeded CPU generator; all randomness comes from it.
        mask_prob: the selection probability.
        special_ids: ids never selected (padding, [CLS], [SEP]).

    Returns:
        inputs (B, T) int64, the corrupted ids, and labels (B, T) int64: the original id at
        selected positions, -100 (ignored by cross-entropy) everywhere else.

    Example: ids [[2, 7, 8, 9, 3]], special_ids (2, 3), mask_prob=1.0: positions 1..3 are
    selected (labels [[-100, 7, 8, 9, -100]]); inputs keep 2 and 3 and turn each of 7, 8, 9 into
    mask_id (80% of the time), a random id (10%) or itself (10%).
    """
    # one draw selects, a second splits the selected into mask / random / keep
    special = torch.isin(ids, torch.tensor(special_ids, dtype=ids.dtype))
    selected = (torch.rand(ids.shape, generator=generator) < mask_prob) & ~special
    labels = ids.masked_fill(~selected, -100)
    split = torch.rand(ids.shape, generator=generator)
    random_ids = torch.randint(vocab_size, ids.shape, generator=generator)
    inputs = ids.masked_fill(selected & (split < 0.8), mask_id)
    replace = selected & (split >= 0.8) & (split < 0.9)  # the last 10% keep their token
    inputs = torch.where(replace, random_ids, inputs)
    return inputs, labels


def mlm_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Cross-entropy on the selected positions only: logits (B, T, V), labels (B, T) with -100."""
    return F.cross_entropy(logits.flatten(0, 1), labels.flatten(), ignore_index=-100)
