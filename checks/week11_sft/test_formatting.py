"""Checks for w11.formatting: the Alpaca prompt and ChatML rendering, as exact strings.

Oracles: the formats written out by hand (Taori et al. 2023 for Alpaca; ChatML as Qwen's template
renders it).
"""

from roadmap.impl import load

mod = load("week11_sft.formatting")

PRE = (
    "Below is an instruction that describes a task. "
    "Write a response that appropriately completes the request."
)
PRE_INPUT = (
    "Below is an instruction that describes a task, paired with an input that provides further "
    "context. Write a response that appropriately completes the request."
)


def check_text(got, expected, what, hint):
    assert isinstance(got, str), f"{what}: expected a str, got {type(got).__name__}"
    if got != expected:
        at = next((i for i, (x, y) in enumerate(zip(got, expected)) if x != y), None)
        at = min(len(got), len(expected)) if at is None else at
        raise AssertionError(
            f"{what}: texts differ at character {at}\n  expected ...{expected[max(0, at - 20) : at + 30]!r}\n"
            f"  got      ...{got[max(0, at - 20) : at + 30]!r}\n  (lengths {len(expected)} vs {len(got)})"
            f"\n  likely cause: {hint}"
        )


def test_alpaca_prompt_without_input():
    record = {"instruction": "Add 2 and 3.", "input": "", "output": "5"}
    expected = PRE + "\n\n### Instruction:\nAdd 2 and 3.\n\n### Response:\n"
    check_text(
        mod.format_alpaca(record),
        expected,
        "format_alpaca(record with input '')",
        "an empty input means no '### Input:' section and the short preamble; the prompt ends "
        "with '### Response:\\n' and never contains the output",
    )


def test_alpaca_prompt_with_input():
    record = {"instruction": "Translate to French.", "input": "good morning", "output": "bonjour"}
    expected = (
        PRE_INPUT
        + "\n\n### Instruction:\nTranslate to French.\n\n### Input:\ngood morning\n\n### Response:\n"
    )
    check_text(
        mod.format_alpaca(record),
        expected,
        "format_alpaca(record with an input)",
        "with an input use the preamble that mentions 'paired with an input', then the "
        "'### Input:' section between the instruction and the response",
    )


def test_alpaca_prompt_missing_input_key_and_verbatim_text():
    """No "input" key counts as no input; the instruction is inserted as it is (spaces kept)."""
    record = {"instruction": "  Say hi.\nTwice ", "output": "hi hi"}
    expected = PRE + "\n\n### Instruction:\n  Say hi.\nTwice \n\n### Response:\n"
    check_text(
        mod.format_alpaca(record),
        expected,
        "format_alpaca(record without an 'input' key)",
        "use record.get('input') (a missing key is no input) and do not strip the instruction",
    )
    assert "hi hi" not in mod.format_alpaca(record), (
        "format_alpaca put the record's output into the prompt: the prompt ends where the "
        "response begins"
    )


def test_alpaca_input_of_spaces_is_an_input():
    """Only a missing or empty ("") input means no input: "  " is inserted as it is."""
    record = {"instruction": "Echo.", "input": "  ", "output": "  "}
    expected = PRE_INPUT + "\n\n### Instruction:\nEcho.\n\n### Input:\n  \n\n### Response:\n"
    check_text(
        mod.format_alpaca(record),
        expected,
        "format_alpaca(record with input '  ')",
        "only a missing key or '' means no input; test the value itself, do not strip it first",
    )


def test_chatml_known_conversation():
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello!"},
    ]
    expected = (
        "<|im_start|>system\nBe brief.<|im_end|>\n"
        "<|im_start|>user\nHi<|im_end|>\n"
        "<|im_start|>assistant\nHello!<|im_end|>\n"
    )
    check_text(
        mod.render_chatml(messages),
        expected,
        "render_chatml(system, user, assistant)",
        "each message is '<|im_start|>' + role + '\\n' + content + '<|im_end|>' + '\\n'; "
        "without add_generation_prompt nothing follows the last message",
    )


def test_chatml_generation_prompt_only_when_asked():
    messages = [{"role": "user", "content": "Hi"}]
    check_text(
        mod.render_chatml(messages, add_generation_prompt=True),
        "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n",
        "render_chatml([user 'Hi'], add_generation_prompt=True)",
        "the generation prompt is '<|im_start|>assistant\\n' after the last message",
    )
    check_text(
        mod.render_chatml(messages, add_generation_prompt=False),
        "<|im_start|>user\nHi<|im_end|>\n",
        "render_chatml([user 'Hi'], add_generation_prompt=False)",
        "add the assistant header only when add_generation_prompt is True",
    )


def test_chatml_keeps_order_roles_and_content_verbatim():
    """Multi-turn, any role, content with spaces and newlines inserted as it is."""
    messages = [
        {"role": "user", "content": " a\n"},
        {"role": "assistant", "content": "b "},
        {"role": "tool", "content": "c"},
        {"role": "user", "content": ""},
    ]
    expected = (
        "<|im_start|>user\n a\n<|im_end|>\n<|im_start|>assistant\nb <|im_end|>\n"
        "<|im_start|>tool\nc<|im_end|>\n<|im_start|>user\n<|im_end|>\n"
    )
    check_text(
        mod.render_chatml(messages),
        expected,
        "render_chatml(4 messages, roles user/assistant/tool/user)",
        "render every message in order with its own role; do not strip the content",
    )
    check_text(
        mod.render_chatml([], add_generation_prompt=True),
        "<|im_start|>assistant\n",
        "render_chatml([], add_generation_prompt=True)",
        "no messages render to '' (plus the generation prompt if asked)",
    )
