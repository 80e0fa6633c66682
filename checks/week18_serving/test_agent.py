"""Checks for w18.agent: the tool registry, the tolerant tool-call parser, the agent loop.

Oracle: scripted models (a list of replies, played in order) whose transcripts are written out by
hand: each check knows exactly which messages the loop must produce.
"""

from roadmap.impl import load

mod = load("week18_serving.agent")

ADD = {
    "type": "object",
    "properties": {"a": {"type": "number"}, "b": {"type": "number"}},
    "required": ["a", "b"],
}


def registry():
    r = mod.ToolRegistry()
    r.register("add", "Add two numbers.", ADD, lambda a, b: a + b)
    r.register(
        "upper",
        "Upper-case a text.",
        {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]},
        lambda text: text.upper(),
    )
    r.register("boom", "Always fails.", {"type": "object", "properties": {}}, lambda: 1 / 0)
    return r


def scripted(replies):
    seen = []

    def model(messages):
        seen.append([dict(m) for m in messages])
        return replies[len(seen) - 1]

    return model, seen


def test_registry_calls_and_validates():
    r = registry()
    assert r.call("add", {"a": 2, "b": 3.5}) == "5.5", "add(2, 3.5) -> '5.5' (str of the result)"
    assert r.call("upper", {"text": "hi"}) == "HI"
    bad = {
        "unknown tool": ("nope", {}),
        "missing": ("add", {"a": 1}),
        "unexpected": ("add", {"a": 1, "b": 2, "c": 3}),
        "wrong type": ("add", {"a": "1", "b": 2}),
        "bool is not a number": ("add", {"a": True, "b": 2}),
        "the tool raised": ("boom", {}),
    }
    for what, (name, args) in bad.items():
        out = r.call(name, args)
        assert isinstance(out, str) and out.startswith("error:"), (
            f"registry.call({name!r}, {args}) ({what}) returned {out!r}; expected a string "
            "starting with 'error:' (never raise: the model reads the error)"
        )
    assert "ZeroDivisionError" in r.call("boom", {}), "name the exception type in the error"
    assert "add" in r.call("nope", {}), "an unknown tool's error lists the tools"


def test_parse_tool_call_variants():
    P = mod.parse_tool_call
    assert P("The answer is 4.") is None, "no <tool_call>: an answer, parse returns None"
    c = P('<tool_call>{"name": "add", "arguments": {"a": 1, "b": 2}}</tool_call>')
    assert (c.name, c.arguments, c.error) == ("add", {"a": 1, "b": 2}, None), f"got {c}"
    c = P('Let me add.\n<tool_call>\n {"name": "add", "arguments": {"a": 1, "b": 2}}\n')
    assert c.name == "add" and c.error is None, f"a missing closing tag is tolerated: {c}"
    c = P('<tool_call>```json\n{"name": "upper", "arguments": {"text": "x"}}\n```</tool_call>')
    assert c.name == "upper" and c.arguments == {"text": "x"}, f"a ```json fence is tolerated: {c}"
    c = P('<tool_call>{"name": "upper"}</tool_call>')
    assert c.name == "upper" and c.arguments == {} and c.error is None, (
        f"missing arguments default to {{}}: {c}"
    )
    c = P('<tool_call>{"name": "a"}</tool_call> then <tool_call>{"name": "b"}</tool_call>')
    assert c.name == "a", f"the FIRST tool call counts, got {c.name!r}"


def test_parse_never_raises_on_malformed_calls():
    for text, word in [
        ('<tool_call>{"name": "add", "arguments": {"a": 1,}</tool_call>', "JSON"),
        ("<tool_call>not json at all</tool_call>", "JSON"),
        ('<tool_call>["add", 1]</tool_call>', "object"),
        ('<tool_call>{"arguments": {}}</tool_call>', "name"),
        ('<tool_call>{"name": 3}</tool_call>', "name"),
        ('<tool_call>{"name": "add", "arguments": [1, 2]}</tool_call>', "arguments"),
    ]:
        c = mod.parse_tool_call(text)
        assert c is not None and c.error and word.lower() in c.error.lower(), (
            f"parse_tool_call({text!r}) = {c}; expected ToolCall(error=...) mentioning {word!r}"
        )


def test_a_two_step_task_transcript():
    model, seen = scripted(
        [
            '<tool_call>{"name": "add", "arguments": {"a": 2, "b": 3}}</tool_call>',
            '<tool_call>{"name": "add", "arguments": {"a": 5, "b": 10}}</tool_call>',
            "2 + 3 + 10 = 15",
        ]
    )
    res = mod.run_agent(model, registry(), "What is 2 + 3 + 10?", max_steps=5)
    assert (res.answer, res.steps, res.stopped) == ("2 + 3 + 10 = 15", 3, "answer"), (
        f"run_agent: answer {res.answer!r}, steps {res.steps}, stopped {res.stopped!r}; expected "
        "the third reply, 3 steps, 'answer'"
    )
    roles = [m["role"] for m in res.messages]
    assert roles == ["system", "user", "assistant", "tool", "assistant", "tool", "assistant"], (
        f"transcript roles {roles}"
    )
    assert [m["content"] for m in res.messages if m["role"] == "tool"] == ["5", "15"], (
        "observations: the tool results as 'tool' messages"
    )
    assert res.messages[1] == {"role": "user", "content": "What is 2 + 3 + 10?"}
    assert "add" in res.messages[0]["content"] and "upper" in res.messages[0]["content"], (
        "the system prompt describes the tools (registry.describe())"
    )
    assert len(seen[1]) == 4 and seen[1][3]["content"] == "5", (
        "memory: at step 2 the model sees system, user, its call and the observation"
    )


def test_recovers_from_a_malformed_call():
    model, seen = scripted(
        [
            '<tool_call>{"name": "upper", "arguments": {"text": "hi"</tool_call>',
            '<tool_call>{"name": "upper", "arguments": {"text": "hi"}}</tool_call>',
            "HI",
        ]
    )
    res = mod.run_agent(model, registry(), "Shout hi.", max_steps=4)
    obs = [m["content"] for m in res.messages if m["role"] == "tool"]
    assert res.answer == "HI" and len(obs) == 2, (
        f"after a malformed call: answer {res.answer!r}, observations {obs}; expected 'HI' after "
        "two observations (feed the malformed call back as an error; the model retries)"
    )
    assert obs[0].startswith("error:") and "json" in obs[0].lower() and obs[1] == "HI", (
        f"a malformed call is answered by an 'error: ...' observation and the model retries; "
        f"got {obs}"
    )


def test_stops_at_the_step_limit():
    model, seen = scripted(
        ['<tool_call>{"name": "upper", "arguments": {"text": "a"}}</tool_call>'] * 10
    )
    res = mod.run_agent(model, registry(), "loop forever", max_steps=3)
    assert (res.answer, res.steps, res.stopped, len(seen)) == (None, 3, "max_steps", 3), (
        f"max_steps=3 without an answer: answer {res.answer!r}, steps {res.steps}, stopped "
        f"{res.stopped!r}, model called {len(seen)} times; expected None, 3, 'max_steps', 3"
    )
    assert len(res.messages) == 2 + 2 * 3, "each step adds the reply and its observation"


def test_every_json_type_accepts_its_values_and_refuses_the_others():
    r = mod.ToolRegistry()
    schema = {
        "type": "object",
        "properties": {
            "i": {"type": "integer"},
            "b": {"type": "boolean"},
            "s": {"type": "string"},
            "a": {"type": "array"},
            "o": {"type": "object"},
        },
    }
    r.register("echo", "Echo the arguments.", schema, lambda **kw: sorted(kw))
    good = [{"i": 3}, {"i": -1}, {"b": True}, {"b": False}, {"s": ""}, {"a": []}, {"o": {}}]
    bad = [{"i": 2.5}, {"i": True}, {"i": "3"}, {"b": 1}, {"s": 3}, {"a": {}}, {"o": []}]
    for args in good:
        out = r.call("echo", args)
        assert not out.startswith("error:"), f"call('echo', {args}) refused a valid value: {out!r}"
    for args in bad:
        out = r.call("echo", args)
        assert out.startswith("error:"), (
            f"call('echo', {args}) returned {out!r}; expected an 'error: ...' (JSON types: an "
            "integer is not 2.5 nor true, a boolean is not 1)"
        )


def test_an_answer_on_the_last_allowed_step_is_an_answer():
    call = '<tool_call>{"name": "upper", "arguments": {"text": "a"}}</tool_call>'
    for max_steps in (1, 3):
        model, seen = scripted([call] * (max_steps - 1) + ["done"])
        res = mod.run_agent(model, registry(), "go", max_steps=max_steps)
        assert (res.answer, res.steps, res.stopped) == ("done", max_steps, "answer"), (
            f"max_steps={max_steps}, the answer at step {max_steps}: answer {res.answer!r}, steps "
            f"{res.steps}, stopped {res.stopped!r}; expected 'done', {max_steps}, 'answer' (the "
            "last allowed model call still counts)"
        )
