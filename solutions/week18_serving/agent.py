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
        tool = self.tools.get(name)
        if tool is None:
            return f"error: unknown tool {name!r}; tools: {', '.join(self.tools)}"
        props = tool.parameters.get("properties", {})
        for req in tool.parameters.get("required", []):
            if req not in arguments:
                return f"error: missing required argument {req!r} for {name}"
        for key, value in arguments.items():
            if key not in props:
                return f"error: unexpected argument {key!r} for {name}; expected {list(props)}"
            want = props[key].get("type")
            # subtle: bool is a subclass of int in Python, but not a JSON number
            if want in JSON_TYPES and (
                not isinstance(value, JSON_TYPES[want])
                or (isinstance(value, bool) and want != "boolean")
            ):
                return f"error: argument {key!r} of {name} must be of type {want}, got {value!r}"
        try:
            return str(tool.fn(**arguments))
        except Exception as exc:  # noqa: BLE001 - the model must see every failure
            return f"error: {type(exc).__name__}: {exc}"


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
    match = TOOL_CALL.search(text)
    if match is None:
        return None
    body = match.group(1).strip()
    if body.startswith("```"):
        body = body.strip("`").strip()
        if body.startswith("json"):
            body = body[4:]
    try:
        obj = json.loads(body)
    except json.JSONDecodeError as exc:
        return ToolCall(error=f"invalid JSON in the tool call ({exc.msg}); write valid JSON")
    if not isinstance(obj, dict):
        return ToolCall(error="the tool call must be a JSON object with a name and arguments")
    name, args = obj.get("name"), obj.get("arguments", {})
    if not isinstance(name, str):
        return ToolCall(error='the tool call needs a string "name"')
    if not isinstance(args, dict):
        return ToolCall(error='"arguments" must be a JSON object')
    return ToolCall(name=name, arguments=args)


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
    messages = [
        {"role": "system", "content": SYSTEM.format(tools=registry.describe())},
        {"role": "user", "content": task},
    ]
    for step in range(1, max_steps + 1):
        reply = model(list(messages))
        messages.append({"role": "assistant", "content": reply})
        call = parse_tool_call(reply)
        if call is None:
            return AgentResult(reply, messages, step, "answer")
        if call.error is not None:
            observation = "error: " + call.error
        else:
            observation = registry.call(call.name, call.arguments)
        messages.append({"role": "tool", "content": observation})
    return AgentResult(None, messages, max_steps, "max_steps")
