"""Checks for w18.protocol: the request models accept exactly the bodies their table allows.

Oracle: the table in request_models' docstring, edge by edge. For every documented bound the
largest accepted and the smallest rejected value (max_tokens 4096 / 4097, top_p 1.0 / 1.0000001,
seed 2**63 - 1 / 2**63, ...), JSON's types against Python's ("5", true, 4.0, 4.5), the defaults,
and unknown fields at both depths. Bodies are validated as FastAPI validates them:
`Model.model_validate` on the parsed JSON.
"""

import pytest
from pydantic import ValidationError

from roadmap.impl import load

mod = load("week18_serving.protocol")
BASE = {"model": "tiny", "prompt": "Hi"}
CHAT = {"model": "tiny", "messages": [{"role": "user", "content": "Hi"}]}


@pytest.fixture(scope="module")
def models():
    return mod.request_models()  # an untouched stub raises here: todo


def rejects(model, body) -> tuple[bool, list]:
    try:
        model.model_validate(body)
    except ValidationError as exc:
        return True, exc.errors()
    return False, []


def test_the_models_are_named_and_a_minimal_body_gets_the_defaults(models):
    completion, chat = models
    assert (completion.__name__, chat.__name__) == ("CompletionRequest", "ChatRequest"), (
        f"request_models() returned classes named {completion.__name__!r} and {chat.__name__!r}; "
        "expected (CompletionRequest, ChatRequest), in that order (the names /openapi.json shows)"
    )
    for model, body in ((completion, BASE), (chat, CHAT)):
        r = model.model_validate(body)
        got = {k: getattr(r, k, "<missing>") for k in ("max_tokens", "temperature", "top_p")}
        got |= {k: getattr(r, k, "<missing>") for k in ("stop", "n", "stream", "seed")}
        want = {"max_tokens": 16, "temperature": 1.0, "top_p": 1.0}
        want |= {"stop": None, "n": 1, "stream": False, "seed": None}
        assert got == want, (
            f"{model.__name__} of the minimal body {body}: defaults {got}, expected {want}"
        )
    assert completion.model_validate(BASE).prompt == "Hi"
    assert chat.model_validate(CHAT).messages[0].content == "Hi"


# field -> (accepted values, rejected values, the rule in words)
EDGES = {
    "max_tokens": ([1, 4096, 4.0, 1.0], [0, 4097, -1, "5", True, 4.5, None], "integer 1..4096"),
    "temperature": ([0, 0.0, 2, 2.0, 0.7], [-1e-9, 2.0000001, True, "0.5", None], "number 0..2"),
    "top_p": ([1, 1.0, 1e-9, 0.5], [0, 0.0, 1.0000001, -0.5, False, "1"], "number, 0 < top_p <= 1"),
    "stop": (
        [None, "x", [], ["a", "b", "c", "d"]],
        [["a", "b", "c", "d", "e"], 5, [1], ["a", None], True],
        "a string, at most 4 strings, or null",
    ),
    "n": ([1, 1.0], [2, 0, True, "1"], "only 1"),
    "stream": ([True, False], ["true", 1, 0, None], "a JSON boolean"),
    "seed": ([None, 0, 2**63 - 1, 7.0], [-1, 2**63, "1", True, 1.5], "integer 0..2**63-1 or null"),
    "model": (["t", "tiny"], ["", 5, None], "a non-empty string"),
}


def likely_cause(field: str, value) -> str:
    """Why a rejected value was accepted, from the property it has."""
    if isinstance(value, bool):
        return "bool is an int in Python, not a JSON number: make the field strict"
    if isinstance(value, str) and value:
        return f"pydantic's lax mode converts {value!r}: make the field strict"
    if field == "stream":
        return f"{value!r} is not a JSON boolean: make the field strict"
    if isinstance(value, float) and not value.is_integer():
        return "only a WHOLE float is an integer"
    if field == "stop" and isinstance(value, list) and len(value) > 4:
        return "at most 4 stop strings"
    if field == "seed" and value == 2**63:
        return "seeds stop at 2**63 - 1"
    if field == "top_p" and value == 0:
        return "top_p must be > 0 (an exclusive bound)"
    if isinstance(value, int) and field in ("max_tokens", "n", "seed"):
        return f"{field}'s bounds are not enforced"
    return ""


@pytest.mark.parametrize("field", list(EDGES))
def test_each_field_accepts_its_edges_and_rejects_one_step_past_them(models, field):
    completion, _ = models
    good, bad, rule = EDGES[field]
    for value in good:
        refused, errors = rejects(completion, {**BASE, field: value})
        hint = ""
        if isinstance(value, float) and value.is_integer() and field in ("max_tokens", "n", "seed"):
            hint = "; likely cause: a whole float like 4.0 is a JSON integer (JSON Schema)"
        elif value in (4096, 2, 2**63 - 1) or (field == "top_p" and value == 1):
            hint = "; likely cause: an exclusive bound where the table's is inclusive"
        assert not refused, (
            f"{field}={value!r} was rejected ({errors[:1]}); the table allows it ({field}: "
            f"{rule}){hint}"
        )
    for value in bad:
        refused, _ = rejects(completion, {**BASE, field: value})
        cause = likely_cause(field, value)
        assert refused, f"{field}={value!r} was accepted; the table says {field}: {rule}" + (
            f"; likely cause: {cause}" if cause else ""
        )


def test_whole_floats_become_ints_and_large_seeds_stay_exact(models):
    completion, _ = models
    r = completion.model_validate({**BASE, "max_tokens": 4.0, "seed": 2**63 - 1, "n": 1.0})
    assert type(r.max_tokens) is int and r.max_tokens == 4, (
        f"max_tokens 4.0 became {r.max_tokens!r} ({type(r.max_tokens).__name__}); expected the int "
        "4 (JSON Schema's integer includes 4.0; the engine needs an int)"
    )
    assert r.seed == 2**63 - 1 and type(r.seed) is int, (
        f"seed 2**63 - 1 became {r.seed!r}; expected it exactly (an int, never through a float)"
    )


def test_prompt_and_messages_are_required_and_checked(models):
    completion, chat = models
    for body, why in (
        ({"model": "tiny"}, "no prompt"),
        ({**BASE, "prompt": ""}, "an empty prompt"),
        ({**BASE, "prompt": ["Hi"]}, "a list as the prompt"),
        ({"prompt": "Hi"}, "no model"),
    ):
        assert rejects(completion, body)[0], f"CompletionRequest accepted {body} ({why})"
    msg = {"role": "user", "content": "Hi"}
    for role in ("system", "user", "assistant", "tool"):
        body = {**CHAT, "messages": [{"role": role, "content": "x"}]}
        assert not rejects(chat, body)[0], f"ChatRequest rejected the role {role!r}"
    for messages, why in (
        ([], "an empty list of messages (at least one)"),
        ([{"role": "bot", "content": "x"}], "the role 'bot'"),
        ([{"role": "user", "content": 5}], "a number as content"),
        ([{"role": "user", "content": None}], "null content"),
        ([{"role": "user"}], "a message without content"),
        ("Hi", "a string instead of a list of messages"),
        ([msg, "Hi"], "a string as a message"),
    ):
        assert rejects(chat, {**CHAT, "messages": messages})[0], (
            f"ChatRequest accepted messages={messages!r} ({why})"
        )
    assert rejects(chat, {"model": "tiny"})[0], "ChatRequest accepted a body without messages"
    assert rejects(chat, {**CHAT, "max_tokens": 4097})[0], (
        "ChatRequest accepted max_tokens 4097: both models share the sampling fields' bounds"
    )


def test_unknown_fields_are_extra_forbidden_at_every_depth(models):
    completion, chat = models
    cases = (
        (completion, {**BASE, "max_token": 5}, ("max_token",)),
        (completion, {**BASE, "messages": CHAT["messages"]}, ("messages",)),
        (chat, {**CHAT, "prompt": "Hi"}, ("prompt",)),
        (chat, {**CHAT, "messages": [{"role": "user", "content": "x", "nmae": "a"}]},
         ("messages", 0, "nmae")),
    )  # fmt: skip
    for model, body, loc in cases:
        refused, errors = rejects(model, body)
        found = [(e["type"], tuple(e["loc"])) for e in errors]
        assert refused and ("extra_forbidden", loc) in found, (
            f"{model.__name__} with the unknown field {'.'.join(map(str, loc))!r}: "
            f"{'errors ' + str(found) if refused else 'accepted'}; expected an error of type "
            f"'extra_forbidden' at {loc}; likely cause: the model (or the message model) does not "
            "forbid extra fields (a typo would generate with the default)"
        )
