"""A tool-using agent: a tool registry, a tolerant parser for tool calls, and the agent loop.

The model is told which tools exist (name, description, JSON schema of the arguments). To use one
it writes `<tool_call>{"name": "add", "arguments": {"a": 2, "b": 3}}</tool_call>` (the format of
Hermes / Qwen chat templates); the loop runs the tool and feeds the result back as a "tool"
message (an observation), and the model continues until it answers without a tool call or the
step limit is reached. Small models write broken JSON: the parser never raises, it reports the
error, and the loop feeds the error back so that the model can try again.
Check: `python tracker.py check w18.agent`
"""

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field

TOOL_CALL = re.compile(r"<tool_call>(.*?)(?:</tool_call>|$)", re.DOTALL)
JSON_TYPES = {
    "string": str,
    "integer": int,
    "number": (int, float),
    "boolean": bool,
    "object": dict,
    "array": list,
}


@dataclass
class Tool:
    name: str
    description: str
    parameters: dict  # JSON schema: {"type": "object", "properties": {...}, "required": [...]}
    fn: Callable[..., object]


@dataclass
class ToolCall:
    """A parsed call: name and arguments, or `error` (a message for the model) when malformed."""

    name: str | None = None
    arguments: dict = field(default_factory=dict)
    error: str | None = None


class ToolRegistry:
    """Tools by name; `call` validates the arguments against the schema and never raises."""

    def __init__(self):
        self.tools: dict[str, Tool] = {}

    def register(self, name: str, description: str, parameters: dict, fn: Callable) -> None:
        self.tools[name] = Tool(name, description, parameters, fn)

    def describe(self) -> str:
        """Given: one JSON line per tool, for the system prompt."""
        return "\n".join(
            json.dumps({"name": t.name, "description": t.description, "parameters": t.parameters})
            for t in self.tools.values()
        )

    def call(self, name: str, arguments: dict) -> str:
        """Run tool `name` with keyword `arguments`; return the observation text.

        Returns str(result) on success. Errors come back as text starting with "error:" (the
        model reads them), never as exceptions: an unknown tool ("error: unknown tool NAME; tools:
        ..."), a missing required argument, an argument not in the schema's properties, an
        argument of the wrong JSON type (schema "type": string, integer, number, boolean, object,
        array; a bool is NOT an integer or a number), or an exception raised by the tool
        ("error: ExceptionType: message").
        Example: with add(a, b) registered with {"type": "object", "properties": {"a": {"type":
        "integer"}, "b": {"type": "integer"}}, "required": ["a", "b"]}: call("add", {"a": 2, "b":
        3}) == "5"; call("add", {"a": True, "b": 3}) and call("add", {"a": 2}) start with "error:".
        """
        # TODO(w18.agent): run the tool on valid arguments; report every problem as 'error: ...' text, never raise
        raise NotImplementedError(
            "w18.agent: write ToolRegistry.call in exercises/week18_serving/agent.py"
        )


def parse_tool_call(text: str) -> ToolCall | None:
    """The first tool call in a model's reply, None if it makes none (then it is an answer).

    A call is `<tool_call>` followed by a JSON object up to `</tool_call>` (or the end of the
    text when the closing tag is missing); surrounding whitespace and a ```json ... ``` fence
    inside the tags are ignored. The object needs a string "name" and, optionally, an object
    "arguments" (missing: {}). Never raises: invalid JSON, a non-object, a missing or non-string
    name or non-object arguments give ToolCall(error="...") with a message naming the problem
    (the word "JSON" for invalid JSON, "object" for a non-object, "name" for a missing or
    non-string name, "arguments" for non-object arguments).
    Example: 'Sure. <tool_call>{"name": "add", "arguments": {"a": 2}}</tool_call>' ->
    ToolCall(name="add", arguments={"a": 2}); "4" -> None; "<tool_call>{oops" ->
    ToolCall(error="invalid JSON in the tool call (...)").
    """
    # TODO(w18.agent): return the reply's first tool call, None without one, an error ToolCall when malformed
    raise NotImplementedError(
        "w18.agent: write parse_tool_call in exercises/week18_serving/agent.py"
    )


@dataclass
class AgentResult:
    answer: str | None  # the final reply; None when the step limit stopped the agent
    messages: list[dict]  # the whole transcript (system, user, assistant, tool messages)
    steps: int  # model calls made
    stopped: str  # "answer" or "max_steps"


SYSTEM = (
    'You can call tools. To call one, reply with <tool_call>{{"name": ..., "arguments": '
    "{{...}}}}</tool_call> and nothing else; you will get its result. Answer without a tool call "
    "when you are done. Tools:\n{tools}"
)


def run_agent(
    model: Callable[[list[dict]], str], registry: ToolRegistry, task: str, max_steps: int = 5
) -> AgentResult:
    """Run the loop: the model sees the whole transcript every step (that is its memory).

    Start with [{"role": "system", "content": SYSTEM.format(tools=registry.describe())},
    {"role": "user", "content": task}]. Each step: reply = model(messages) (a copy or the list
    itself, the model must not change it); append {"role": "assistant", "content": reply}; parse
    it: no call -> return AgentResult(reply, messages, steps, "answer"); a call -> append
    {"role": "tool", "content": registry.call(name, arguments)}; a malformed call -> append
    {"role": "tool", "content": "error: " + call.error} (the model gets to retry). After max_steps
    model calls without an answer, return AgentResult(None, messages, max_steps, "max_steps").
    Example: a model that first replies '<tool_call>{"name": "add", "arguments": {"a": 2, "b":
    3}}</tool_call>' and then "5" -> AgentResult("5", [system, user, assistant, tool "5",
    assistant "5"], 2, "answer").
    """
    # TODO(w18.agent): alternate model replies and tool observations until an answer or max_steps
    raise NotImplementedError("w18.agent: write run_agent in exercises/week18_serving/agent.py")
