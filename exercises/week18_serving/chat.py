"""Chat memory that fits the context window: keep the system prompt, drop the oldest turns.

A chat server receives the whole conversation with every request; a small model's context window
(block_size) holds only so much. The prompt is week 11's ChatML rendering of the messages plus the
generation prompt "<|im_start|>assistant\\n"; when it is too long, whole turns are dropped from
the front (a turn = one user message and every non-user message after it, up to the next user
message), the system messages stay, and the newest turn always stays.
Check: `pytest checks/week18_serving/test_chat.py`
"""

from collections.abc import Callable

from solutions.week11_sft.formatting import render_chatml


def split_turns(messages: list[dict]) -> tuple[list[dict], list[list[dict]]]:
    """(system messages, turns): the system messages anywhere, in order; the rest cut into turns.

    A turn starts at each "user" message; non-system messages before the first user message form
    a turn of their own.
    Example: [sys, u1, a1, u2] -> ([sys], [[u1, a1], [u2]]).
    """
    # TODO(w18.chat): system messages apart; a new turn at each user message
    raise NotImplementedError("w18.chat: split_turns")


def truncate_messages(
    messages: list[dict], count_tokens: Callable[[list[dict]], int], max_tokens: int
) -> list[dict]:
    """The messages to send: system messages first, then the newest turns that fit.

    Drop the oldest turn, one at a time, while count_tokens(system + remaining turns) >
    max_tokens; never drop the newest turn. Nothing is dropped when everything fits; the kept
    messages keep their order (system messages first).

    Raises:
        ValueError: if the system messages plus the newest turn alone exceed max_tokens (the
            server answers 400 "context_length_exceeded").
    """
    # TODO(w18.chat): drop the oldest turn while count_tokens(system + turns) > max_tokens; ValueError if the last turn alone does not fit
    raise NotImplementedError("w18.chat: truncate_messages")


def chat_prompt_ids(
    messages: list[dict], encode: Callable[[str], list[int]], max_tokens: int
) -> list[int]:
    """The token ids of the ChatML prompt (with the generation prompt) of the truncated chat.

    count_tokens(ms) = len(encode(render_chatml(ms, add_generation_prompt=True))).
    """
    # TODO(w18.chat): count = len(encode(render_chatml(ms, True))); truncate; encode the kept messages' ChatML
    raise NotImplementedError("w18.chat: chat_prompt_ids")
