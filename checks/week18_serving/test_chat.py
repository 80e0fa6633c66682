"""Checks for w18.chat: turns, truncation that keeps the system prompt, the ChatML prompt.

Oracles: hand-built conversations with a token counter that counts characters (so the budget
arithmetic is done by hand in each check), and week 11's render_chatml for the prompt.
"""

import pytest

from roadmap.impl import load
from solutions.week11_sft.formatting import render_chatml

mod = load("week18_serving.chat")

S = {"role": "system", "content": "sys"}
U1, A1 = {"role": "user", "content": "u1"}, {"role": "assistant", "content": "a1"}
U2, A2 = {"role": "user", "content": "u2"}, {"role": "assistant", "content": "a2"}
T2 = {"role": "tool", "content": "t2"}
U3 = {"role": "user", "content": "u3"}


def chars(ms):
    return sum(len(m["content"]) for m in ms)


def test_split_turns():
    system, turns = mod.split_turns([S, U1, A1, U2, T2, A2, U3])
    assert system == [S] and turns == [[U1, A1], [U2, T2, A2], [U3]], (
        f"split_turns: got {system}, {turns}; a turn starts at each user message and takes the "
        "non-user messages after it"
    )
    system, turns = mod.split_turns([A1, U1])
    assert system == [] and turns == [[A1], [U1]], (
        f"messages before the first user message form their own turn; got {turns}"
    )


def test_nothing_is_dropped_when_it_fits():
    ms = [S, U1, A1, U2]
    assert mod.truncate_messages(ms, chars, 9) == ms, "9 characters fit exactly: keep everything"


def test_oldest_turns_are_dropped_whole_and_the_system_prompt_stays():
    ms = [S, U1, A1, U2, T2, A2, U3]  # 3 + 4 + 6 + 2 = 15 characters
    cases = [
        (15, ms),
        (14, [S, U2, T2, A2, U3]),
        (11, [S, U2, T2, A2, U3]),
        (10, [S, U3]),
        (5, [S, U3]),
    ]
    for budget, want in cases:
        got = mod.truncate_messages(ms, chars, budget)
        assert got == want, (
            f"truncate_messages(max_tokens={budget}) kept {[m['content'] for m in got]}, expected "
            f"{[m['content'] for m in want]} (drop whole turns from the oldest; the system "
            "prompt and the newest turn always stay)"
        )


def test_system_messages_are_kept_first():
    ms = [U1, A1, S, U2]
    got = mod.truncate_messages(ms, chars, 100)
    assert got == [S, U1, A1, U2], f"system messages go first: got {[m['content'] for m in got]}"


def test_too_long_even_alone_raises():
    with pytest.raises(ValueError):
        mod.truncate_messages([S, U1, A1, U2], chars, 4)


def test_chat_prompt_ids_is_the_chatml_of_the_kept_messages():
    def enc(text):
        return list(text.encode())

    ms = [S, U1, A1, U2]
    full = enc(render_chatml(ms, add_generation_prompt=True))
    assert mod.chat_prompt_ids(ms, enc, len(full)) == full, (
        "chat_prompt_ids: expected the ChatML rendering (week 11) with the generation prompt"
    )
    short = enc(render_chatml([S, U2], add_generation_prompt=True))
    got = mod.chat_prompt_ids(ms, enc, len(full) - 1)
    assert got == short, (
        f"one token short of the whole chat: expected the prompt of [system, u2], got "
        f"{bytes(got)!r}; the budget counts the rendered prompt WITH the generation prompt"
    )


def test_the_callers_messages_are_left_alone():
    ms = [U1, A1, S, U2, T2, A2, U3]
    before = [dict(m) for m in ms]
    mod.split_turns(ms)
    mod.truncate_messages(ms, chars, 7)
    assert ms == before, (
        f"the caller's messages changed to {[m['content'] for m in ms]}; build new lists (the "
        "server keeps the request's messages)"
    )
