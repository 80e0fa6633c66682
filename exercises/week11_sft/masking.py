"""Loss masking: train on the response only, pad a batch, and the masked loss.

In supervised fine-tuning the prompt is given, not predicted: its tokens get the label -100, which
`F.cross_entropy(ignore_index=-100)` skips, so only the response and the token that ends it are
trained. Labels follow the transformers convention: `labels` is aligned with `input_ids` (not
shifted); the loss shifts them, position t predicting labels[t + 1].
Check: `pytest checks/week11_sft/test_masking.py`
"""

import torch
import torch.nn.functional as F

from .formatting import IM_END, IM_START

IGNORE = -100  # the label cross_entropy skips


def build_example(
    prompt_ids: list[int], response_ids: list[int], end_id: int
) -> tuple[list[int], list[int]]:
    """One training example: input = prompt + response + [end_id], labels with the prompt masked.

    Example: prompt [5, 6, 7], response [8, 9], end 2 ->
        input_ids [5, 6, 7, 8, 9, 2], labels [-100, -100, -100, 8, 9, 2]
    The end token is trained (the model must learn to stop).

    Returns:
        (input_ids, labels), two lists of the same length.
    """
    # TODO(w11.masking): input = prompt + response + [end_id]; labels -100 on the prompt
    raise NotImplementedError("w11.masking: build_example")


def chat_example(tok, messages: list[dict[str, str]]) -> tuple[list[int], list[int]]:
    """A whole ChatML conversation (see formatting.render_chatml) as (input_ids, labels).

    The ids are those of the rendered text, encoded piece by piece with `tok.encode`: for each
    message "<|im_start|>" + role + "\\n", then the content, then "<|im_end|>", then "\\n" (the
    same ids as encoding the whole text when no merge crosses these boundaries; the specials never
    merge). The labels train every assistant message's content and its "<|im_end|>"; everything
    else (the headers, the "\\n" after "<|im_end|>", all other roles' messages) is -100. This is
    what trl's `assistant_only_loss=True` trains with a `{% generation %}` block around the
    assistant's content and "<|im_end|>".

    Args:
        tok: a tokenizer whose `encode` knows "<|im_start|>" and "<|im_end|>" as special tokens.
        messages: [{"role": ..., "content": ...}, ...].
    """
    # TODO(w11.masking): encode each message's pieces; train only assistant content + <|im_end|>
    raise NotImplementedError("w11.masking: chat_example")


def collate(examples: list[tuple[list[int], list[int]]], pad_id: int) -> dict[str, torch.Tensor]:
    """Pad a list of (input_ids, labels) on the right to the longest example of the batch.

    Returns:
        input_ids (B, T) int64 padded with pad_id, labels (B, T) int64 padded with -100, and
        attention_mask (B, T) int64: 1 on real tokens, 0 on padding; T = the longest example.
        Padding is decided by each example's length, never by comparing ids with pad_id, so a
        pad_id that is also a real token (e.g. pad = end token) does not mask that token.
    """
    # TODO(w11.masking): pad right to the batch max by length: ids with pad_id, labels with -100, mask 1/0
    raise NotImplementedError("w11.masking: collate")


def response_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean next-token NLL over the trained positions: position t predicts labels[t + 1].

    Args:
        logits: (B, T, V) from the model on input_ids.
        labels: (B, T) int64, -100 where nothing is trained.

    Returns:
        scalar: sum over (b, t) with labels[b, t + 1] != -100 of -log softmax(logits[b, t])[labels[b,
        t + 1]], divided by the number of such positions (one mean over the whole batch, as
        transformers' GPT2LMHeadModel(labels=...) computes it). labels[:, 0] is never a target.
    """
    # TODO(w11.masking): shift by one, cross-entropy with ignore_index=-100, one mean over the batch
    raise NotImplementedError("w11.masking: response_loss")
