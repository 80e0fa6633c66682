"""Checks for w18.ui: Gradio history -> OpenAI messages, and the streamed, accumulated reply.

Oracles: a recording fake client (what was asked, which chunks came back) and, once, the official
`openai` client on the app over a fake worker with a scripted reply.
"""

from types import SimpleNamespace as NS

from fastapi.testclient import TestClient
from openai import OpenAI

from roadmap.impl import load

from .support import FakeWorker, app_for

mod = load("week18_serving.ui")


class FakeClient:
    def __init__(self, pieces):
        self.pieces, self.kwargs = pieces, None
        self.chat = NS(completions=NS(create=self.create))

    def create(self, **kwargs):
        self.kwargs = kwargs
        return iter(NS(choices=[NS(delta=NS(content=p))]) for p in self.pieces)


HISTORY = [
    {"role": "user", "content": "Hi"},
    {"role": "assistant", "content": [{"type": "text", "text": "Hello!"}]},
    {"role": "system", "content": "ignored"},
]


def test_history_to_messages():
    before = [dict(e) for e in HISTORY]
    got = mod.history_to_messages("How are you?", HISTORY, system="Be kind.")
    assert HISTORY == before, "history_to_messages changed Gradio's history; build a new list"
    want = [
        {"role": "system", "content": "Be kind."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Hello!"},
        {"role": "user", "content": "How are you?"},
    ]
    assert got == want, f"history_to_messages: got {got}, expected {want}"
    assert mod.history_to_messages("x", [], system="") == [{"role": "user", "content": "x"}], (
        "an empty system prompt adds no system message"
    )


def test_stream_reply_yields_the_accumulated_text_and_passes_the_controls():
    c = FakeClient(["Hel", None, "lo", "", " you"])
    out = list(
        mod.stream_reply(
            "Q",
            HISTORY,
            client=c,
            model="tiny",
            temperature=0.3,
            top_p=0.9,
            max_tokens=12.0,
            system="S",
        )
    )
    assert out == ["Hel", "Hello", "Hello you"], (
        f"stream_reply yielded {out}; expected the reply SO FAR after each non-empty piece "
        "(Gradio replaces the message with each yield)"
    )
    kw = c.kwargs
    assert kw["stream"] is True and kw["model"] == "tiny", f"create(...) got {kw}"
    assert (kw["temperature"], kw["top_p"], kw["max_tokens"]) == (0.3, 0.9, 12), (
        f"sampling controls: got temperature {kw['temperature']}, top_p {kw['top_p']}, "
        f"max_tokens {kw['max_tokens']!r}; expected 0.3, 0.9, int 12"
    )
    assert isinstance(kw["max_tokens"], int), "max_tokens from a slider is a float: send an int"
    assert (
        kw["messages"][-1] == {"role": "user", "content": "Q"}
        and kw["messages"][0]["content"] == "S"
    )


def test_an_empty_reply_yields_one_empty_string():
    out = list(mod.stream_reply("Q", [], client=FakeClient([]), model="tiny"))
    assert out == [""], f"an empty stream: expected [''], got {out}"


def test_stream_reply_through_the_openai_client_and_the_app():
    app = app_for(FakeWorker(list("Hi there, é!".encode())))
    c = OpenAI(base_url="http://testserver/v1", api_key="none", http_client=TestClient(app))
    out = list(mod.stream_reply("Hello", [], client=c, model="tiny", max_tokens=30))
    assert out and out[-1] == "Hi there, é!" and len(out) > 1, (
        f"through the API: yields {out[:3]}...{out[-1:]}; expected a growing reply ending in "
        "'Hi there, é!'"
    )
