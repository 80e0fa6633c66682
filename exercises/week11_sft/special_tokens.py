"""New special tokens for a trained model: register them in the tokenizer, grow the embedding.

A chat format needs tokens the base model has never seen (`<|im_start|>`, `<|im_end|>`). Each gets a
fresh id after the existing vocabulary, and the model's token embedding (tied to the output head in
the week-05 GPT) gains one row per new token. The old rows are kept exactly, so the model's
predictions among old tokens do not change; the new rows start at the mean of the old rows (Hewitt
2021), so the new tokens start as "an average token" instead of a random outlier.
Check: `python tracker.py check w11.special_tokens`
"""

import torch
import torch.nn as nn

from solutions.week05_gpt.model import GPT
from solutions.week06_tokenizers.tokenizer import BPETokenizer


def add_special_tokens(tok: BPETokenizer, model: GPT, tokens: list[str]) -> list[int]:
    """Register `tokens` as special tokens of `tok` and resize `model`'s embedding to match.

    A token already special in `tok` keeps its id. Each new one gets the next free id, in the order
    given: max(tok.vocab) + 1, then + 2, ... (`tok.special_tokens[token] = id` and
    `tok.vocab[id] = token.encode("utf-8")`, so encode gives it as one id and decode gives it back).
    A token listed twice gets one id (the second time it is already special). The model then
    gets a new (V', C) token embedding, in the old weight's dtype and on its device, with
    V' = max(V, max id + 1): rows 0..V-1 copied from the old weight, every new row equal to the
    mean of the old rows. The head stays tied (`model.lm_head.weight is
    model.transformer.wte.weight`) and `model.config.vocab_size` becomes V'. Both are changed in
    place. A model whose V already covers every id (a vocabulary padded to a multiple of 64)
    keeps its embedding as it is; the embedding never shrinks.

    Example: tok with ids 0..257 and a (258, C) model, tokens ["<|im_start|>", "<|im_end|>"] ->
    [258, 259], the embedding becomes (260, C) with rows 258 and 259 both the mean of rows 0..257;
    the same call on a (300, C) model returns [258, 259] and leaves it (300, C).

    Returns:
        the id of each token in `tokens`, in order.
    """
    # TODO(w11.special_tokens): register the tokens and give each new id a row; old predictions stay
    raise NotImplementedError(
        "w11.special_tokens: write add_special_tokens in exercises/week11_sft/special_tokens.py"
    )
