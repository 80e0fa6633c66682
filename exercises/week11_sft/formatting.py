"""Instruction formats: the Alpaca prompt and ChatML conversations, as plain strings.

An instruction-tuned model only ever sees text; the format decides where the prompt ends and the
answer begins, and which token ends the answer. Alpaca (Taori et al. 2023) is a single-turn prompt
with `### Instruction:` / `### Input:` / `### Response:` headers; ChatML (OpenAI, used by Qwen and
many others) wraps every message in `<|im_start|>role\\n ... <|im_end|>\\n`.
Check: `python tracker.py check w11.formatting`
"""

ALPACA_PREAMBLE = (
    "Below is an instruction that describes a task. "
    "Write a response that appropriately completes the request."
)
ALPACA_PREAMBLE_INPUT = (
    "Below is an instruction that describes a task, paired with an input that provides further "
    "context. Write a response that appropriately completes the request."
)
IM_START = "<|im_start|>"  # opens a message, followed by the role and a newline
IM_END = "<|im_end|>"  # ends a message: the token an assistant turn is trained to emit last


def format_alpaca(record: dict) -> str:
    """The Alpaca prompt of one record, ending where the response begins.

    Without an input (record["input"] missing or ""; any other value, even "  ", is an input):
        ALPACA_PREAMBLE + "\\n\\n### Instruction:\\n" + instruction + "\\n\\n### Response:\\n"
    With an input:
        ALPACA_PREAMBLE_INPUT + "\\n\\n### Instruction:\\n" + instruction
        + "\\n\\n### Input:\\n" + input + "\\n\\n### Response:\\n"
    The instruction and input are inserted as they are (no stripping). The record's "output" is
    not part of the prompt.

    Example: format_alpaca({"instruction": "Add 2 and 3.", "input": ""}) ==
        ALPACA_PREAMBLE + "\\n\\n### Instruction:\\nAdd 2 and 3.\\n\\n### Response:\\n"
    """
    # TODO(w11.formatting): return the record's Alpaca prompt, ending where the response begins
    raise NotImplementedError(
        "w11.formatting: write format_alpaca in exercises/week11_sft/formatting.py"
    )


def record_to_messages(record: dict) -> list[dict[str, str]]:
    """An Alpaca record as a two-message conversation: the user asks, the assistant answers.

    The user's content is the instruction, followed by "\\n\\n" + input when there is an input;
    the assistant's content is the output.
    Example: {"instruction": "Add.", "input": "2 3", "output": "5"} ->
        [{"role": "user", "content": "Add.\\n\\n2 3"}, {"role": "assistant", "content": "5"}]
    """
    # given: the chat format needs no headers, the roles say who speaks
    user = record["instruction"] + (f"\n\n{record['input']}" if record.get("input") else "")
    return [{"role": "user", "content": user}, {"role": "assistant", "content": record["output"]}]


def render_chatml(messages: list[dict[str, str]], add_generation_prompt: bool = False) -> str:
    """A conversation in ChatML: each message as "<|im_start|>" + role + "\\n" + content +
    "<|im_end|>" + "\\n", in order; with add_generation_prompt, "<|im_start|>assistant\\n" at the end
    (where the model starts its answer).

    Example: render_chatml([{"role": "user", "content": "Hi"}], add_generation_prompt=True) ==
        "<|im_start|>user\\nHi<|im_end|>\\n<|im_start|>assistant\\n"
    Content is inserted as it is (no stripping); any role name is allowed (system, user, ...).
    """
    # TODO(w11.formatting): return the conversation as ChatML text, generation prompt only if asked
    raise NotImplementedError(
        "w11.formatting: write render_chatml in exercises/week11_sft/formatting.py"
    )
