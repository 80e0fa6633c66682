"""New special tokens for a trained model: register them in the tokenizer, grow the embedding.

A chat format needs tokens the base model has never seen (`<|im_start|>`, `<|im_end|>`). Each gets a
fresh id after the existing vocabulary, and the model's token embedding (tied to the output head in
the week-05 GPT) gains one row per new token. The old rows are kept exactly, so the model's
predictions among old tokens do not change; the new rows start at the mean of the old rows (Hewitt
2021), so the new tokens start as "an average token" instead of a random outlier.
Check: `pytest checks/week11_sft/test_special_tokens.py`
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
    The model then gets a new (V', C) token embedding with V' = max id + 1 (max with the old V):
    rows 0..V-1 copied from the old weight, every new row equal to the mean of the old rows. The
    head stays tied (`model.lm_head.weight is model.transformer.wte.weight`) and
    `model.config.vocab_size` becomes V'. Both are changed in place.

    Returns:
        the id of each token in `tokens`, in order.
    """
    # TODO(w11.special_tokens): give new tokens the next ids, then grow the tied embedding with mean-initialised rows
    raise NotImplementedError("w11.special_tokens: add_special_tokens")
