"""Loss masking: train on the response only, pad a batch, and the masked loss.

In supervised fine-tuning the prompt is given, not predicted: its tokens get the label -100, which
`F.cross_entropy(ignore_index=-100)` skips, so only the response and the token that ends it are
trained. Labels follow the transformers convention: `labels` is aligned with `input_ids` (not
shifted); the loss shifts them, position t predicting labels[t + 1].
Check: `python tracker.py check w11.masking`
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
    # TODO(w11.masking): return ids and labels that train the response and its end only
    raise NotImplementedError("w11.masking: write build_example in exercises/week11_sft/masking.py")


def chat_example(tok, messages: list[dict[str, str]]) -> tuple[list[int], list[int]]:
    """A whole ChatML conversation (see formatting.render_chatml) as (input_ids, labels).

    The ids are those of the rendered text, encoded piece by piece with `tok.encode`: for each
    message "<|im_start|>" + role + "\\n", then the content, then "<|im_end|>", then "\\n" (the
    same ids as encoding the whole text when no merge crosses these boundaries; the specials never
    merge). The labels train every assistant message's content and its "<|im_end|>"; everything
    else (the headers, the "\\n" after "<|im_end|>", all other roles' messages) is -100. This is
    what trl's `assistant_only_loss=True` trains with a `{% generation %}` block around the
    assistant's content and "<|im_end|>".

    Example: with a byte-level tok ("<|im_start|>" 257, "<|im_end|>" 258, every ASCII character
    its byte), [user "Hi", assistant "Yo"] gives 25 ids: 257 "user\n" "Hi" 258 "\n" 257
    "assistant\n" "Yo" 258 "\n"; the labels are -100 for the first 21 ids, then 89 ("Y"), 111
    ("o"), 258, then -100 for the last "\n".

    Args:
        tok: a tokenizer whose `encode` knows "<|im_start|>" and "<|im_end|>" as special tokens.
        messages: [{"role": ..., "content": ...}, ...].
    """
    # TODO(w11.masking): return ids and labels that train only what the assistant says
    raise NotImplementedError("w11.masking: write chat_example in exercises/week11_sft/masking.py")


def collate(examples: list[tuple[list[int], list[int]]], pad_id: int) -> dict[str, torch.Tensor]:
    """Pad a list of (input_ids, labels) on the right to the longest example of the batch.

    Returns:
        input_ids (B, T) int64 padded with pad_id, labels (B, T) int64 padded with -100, and
        attention_mask (B, T) int64: 1 on real tokens, 0 on padding; T = the longest example.
        Padding is decided by each example's length, never by comparing ids with pad_id, so a
        pad_id that is also a real token (e.g. pad = end token) does not mask that token.

    Example: [([5, 6, 2], [-100, 6, 2]), ([7, 2], [7, 2])] with pad_id 2 -> input_ids
    [[5, 6, 2], [7, 2, 2]], labels [[-100, 6, 2], [7, 2, -100]], attention_mask [[1, 1, 1],
    [1, 1, 0]].
    """
    # TODO(w11.masking): return the padded batch, padding decided by each example's length
    raise NotImplementedError("w11.masking: write collate in exercises/week11_sft/masking.py")


def response_loss(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean next-token NLL over the trained positions: position t predicts labels[t + 1].

    Args:
        logits: (B, T, V) from the model on input_ids.
        labels: (B, T) int64, -100 where nothing is trained.

    Returns:
        scalar: sum over (b, t) with labels[b, t + 1] != -100 of -log softmax(logits[b, t])[labels[b,
        t + 1]], divided by the number of such positions (one mean over the whole batch, as
        transformers' GPT2LMHeadModel(labels=...) computes it). labels[:, 0] is never a target.

    Example: V = 2, logits [[[ln 3, 0], [ln 3, 0], [0, 0]]] (p = [3/4, 1/4] at positions 0 and 1),
    labels [[-100, 0, 1]]: position 0 predicts 0 (NLL ln(4/3)), position 1 predicts 1 (NLL ln 4):
    (ln(4/3) + ln 4) / 2 = 0.8370.
    """
    # TODO(w11.masking): return the mean next-token NLL over every trained position of the batch
    raise NotImplementedError("w11.masking: write response_loss in exercises/week11_sft/masking.py")
