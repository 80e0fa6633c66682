"""Chat memory that fits the context window: keep the system prompt, drop the oldest turns.

A chat server receives the whole conversation with every request; a small model's context window
(block_size) holds only so much. The prompt is week 11's ChatML rendering of the messages plus the
generation prompt "<|im_start|>assistant\\n"; when it is too long, whole turns are dropped from
the front (a turn = one user message and every non-user message after it, up to the next user
message), the system messages stay, and the newest turn always stays.
Check: `python tracker.py check w18.chat`
"""

from collections.abc import Callable

from solutions.week11_sft.formatting import render_chatml


def split_turns(messages: list[dict]) -> tuple[list[dict], list[list[dict]]]:
    """(system messages, turns): the system messages anywhere, in order; the rest cut into turns.

    A turn starts at each "user" message; non-system messages before the first user message form
    a turn of their own. `messages` is not changed.
    Example: [sys, u1, a1, u2] -> ([sys], [[u1, a1], [u2]]); [a0, sys, u1] -> ([sys], [[a0],
    [u1]]); [] -> ([], []).
    """
    system = [m for m in messages if m["role"] == "system"]
    turns: list[list[dict]] = []
    for m in messages:
        if m["role"] == "system":
            continue
        if m["role"] == "user" or not turns:
            turns.append([])
        turns[-1].append(m)
    return system, turns


def truncate_messages(
    messages: list[dict], count_tokens: Callable[[list[dict]], int], max_tokens: int
) -> list[dict]:
    """The messages to send: system messages first, then the newest turns that fit.

    Drop the oldest turn, one at a time, while count_tokens(system + remaining turns) >
    max_tokens; never drop the newest turn. Nothing is dropped when everything fits (count <=
    max_tokens); the kept messages keep their order (system messages first).
    Example: with count_tokens=len (one token per message) and max_tokens 3, [sys, u1, a1, u2]
    -> [sys, u2]; with max_tokens 4 it is kept whole.

    Raises:
        ValueError: if the system messages plus the newest turn alone exceed max_tokens (the
            server answers 400 "context_length_exceeded").
    """
    system, turns = split_turns(messages)
    while True:
        kept = system + [m for turn in turns for m in turn]
        if count_tokens(kept) <= max_tokens:
            return kept
        if len(turns) <= 1:
            raise ValueError(
                f"the system prompt and the last turn need {count_tokens(kept)} tokens, "
                f"more than the {max_tokens} available"
            )
        turns = turns[1:]


def chat_prompt_ids(
    messages: list[dict], encode: Callable[[str], list[int]], max_tokens: int
) -> list[int]:
    """The token ids of the ChatML prompt (with the generation prompt) of the truncated chat.

    The messages are truncated (truncate_messages) with count_tokens(ms) =
    len(encode(render_chatml(ms, add_generation_prompt=True))): the count is of the very ids
    returned, so the result has at most max_tokens ids.
    Example: [{"role": "user", "content": "Hi"}] with a byte encoder and max_tokens 100 -> the
    bytes of "<|im_start|>user\\nHi<|im_end|>\\n<|im_start|>assistant\\n" (52 ids).

    Raises:
        ValueError: as truncate_messages, when the system messages and the newest turn do not fit.
    """

    def count(ms: list[dict]) -> int:
        return len(encode(render_chatml(ms, add_generation_prompt=True)))

    kept = truncate_messages(messages, count, max_tokens)
    return encode(render_chatml(kept, add_generation_prompt=True))
