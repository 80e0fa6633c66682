"""A Gradio chat UI on the OpenAI-compatible API: streaming replies, sampling controls.

The UI does not load the model: it is a client of the server, like any other (the official
`openai` client pointed at the server's /v1). `stream_reply` is the ChatInterface's function: it
turns Gradio's history into OpenAI messages, asks for a streamed chat completion and yields the
reply so far after each piece, which Gradio shows as it grows.
Check: `pytest checks/week18_serving/test_ui.py` (and test_ui_browser.py in a real browser)
"""

from collections.abc import Iterator


def content_text(content) -> str:
    """Given: the text of a Gradio message content (a str, or a list of parts / {"text": ...})."""
    if isinstance(content, str):
        return content
    if isinstance(content, dict):
        return str(content.get("text", ""))
    if isinstance(content, (list, tuple)):
        return "".join(content_text(part) for part in content)
    return "" if content is None else str(content)


def history_to_messages(message: str, history: list[dict], system: str | None = None) -> list[dict]:
    """OpenAI chat messages for a new user `message` after Gradio's `history`.

    [{"role": "system", "content": system}] if system is non-empty, then every history entry as
    {"role": entry["role"], "content": content_text(entry["content"])} in order (only the roles
    "user" and "assistant"; other entries are skipped), then {"role": "user", "content": message}.
    """
    # TODO(w18.ui): optional system message, the user/assistant history entries (content_text), the new user message
    raise NotImplementedError("w18.ui: history_to_messages")


def stream_reply(
    message: str,
    history: list[dict],
    *,
    client,
    model: str,
    temperature: float = 0.8,
    top_p: float = 1.0,
    max_tokens: int = 64,
    system: str | None = None,
) -> Iterator[str]:
    """Yield the assistant's reply so far (the ACCUMULATED text) after each streamed piece.

    Call client.chat.completions.create(model=model, messages=history_to_messages(...),
    temperature=temperature, top_p=top_p, max_tokens=int(max_tokens), stream=True); for each
    chunk whose choices[0].delta.content is non-empty, add it to the reply and yield the reply.
    Yields nothing more once the stream ends; an empty reply yields "" once at the end.
    """
    # TODO(w18.ui): create(..., stream=True); add each non-empty delta.content to the reply and yield the reply so far
    raise NotImplementedError("w18.ui: stream_reply")


def build_ui(client, model: str, *, max_tokens_limit: int = 256):
    """Given: a gr.ChatInterface streaming through `stream_reply`, with sampling controls."""
    import gradio as gr

    def respond(message, history, system, temperature, top_p, max_tokens):
        yield from stream_reply(
            message,
            history,
            client=client,
            model=model,
            temperature=temperature,
            top_p=top_p,
            max_tokens=max_tokens,
            system=system,
        )

    return gr.ChatInterface(
        respond,
        title="LLM Roadmap: your model",
        additional_inputs=[
            gr.Textbox("You are a helpful assistant.", label="System prompt"),
            gr.Slider(0.0, 2.0, value=0.8, step=0.05, label="Temperature"),
            gr.Slider(0.05, 1.0, value=1.0, step=0.05, label="Top-p"),
            gr.Slider(1, max_tokens_limit, value=64, step=1, label="Max new tokens"),
        ],
    )
