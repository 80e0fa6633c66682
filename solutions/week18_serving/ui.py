"""A Gradio chat UI on the OpenAI-compatible API: streaming replies, sampling controls.

The UI does not load the model: it is a client of the server, like any other (the official
`openai` client pointed at the server's /v1). `stream_reply` is the ChatInterface's function: it
turns Gradio's history into OpenAI messages, asks for a streamed chat completion and yields the
reply so far after each piece, which Gradio shows as it grows. test_ui_browser.py drives the UI
in headless Chromium.
Check: `python tracker.py check w18.ui`
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
    `history` is not changed.
    Example: history_to_messages("And you?", [{"role": "user", "content": "Hi"}, {"role":
    "assistant", "content": [{"type": "text", "text": "Hello!"}]}], system="Be kind.") ->
    [{"role": "system", "content": "Be kind."}, {"role": "user", "content": "Hi"},
    {"role": "assistant", "content": "Hello!"}, {"role": "user", "content": "And you?"}].
    """
    messages = [{"role": "system", "content": system}] if system else []
    for entry in history:
        if entry.get("role") in ("user", "assistant"):
            messages.append({"role": entry["role"], "content": content_text(entry["content"])})
    messages.append({"role": "user", "content": message})
    return messages


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

    `client` is an OpenAI client (or anything with its chat.completions.create). One request:
    create(model=model, messages=history_to_messages(message, history, system),
    temperature=temperature, top_p=top_p, max_tokens=max_tokens as an int (a Gradio slider gives
    a float), stream=True). Each chunk whose choices[0].delta.content is non-empty adds to the
    reply, and the reply so far is yielded (Gradio replaces the message with each value); chunks
    without choices or content add nothing. An empty reply yields "" once, at the end.
    Example: chunk contents "Hel", None, "lo" -> yields "Hel", "Hello".
    """
    stream = client.chat.completions.create(
        model=model,
        messages=history_to_messages(message, history, system),
        temperature=temperature,
        top_p=top_p,
        max_tokens=int(max_tokens),
        stream=True,
    )
    reply = ""
    for chunk in stream:
        piece = chunk.choices[0].delta.content if chunk.choices else None
        if piece:
            reply += piece
            yield reply
    if not reply:
        yield ""


def build_ui(client, model: str, note: str | None = None, *, max_tokens_limit: int = 256):
    """Given: a gr.ChatInterface streaming through `stream_reply`, with sampling controls.

    `note`, when given, is shown plainly above the chat (e.g. "random weights: a look at the
    server, not a trained model"), in a gr.Markdown with elem_id "model-note".
    """
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

    chat = gr.ChatInterface(
        respond,
        title="LLM Roadmap: your model",
        additional_inputs=[
            gr.Textbox("You are a helpful assistant.", label="System prompt"),
            gr.Slider(0.0, 2.0, value=0.8, step=0.05, label="Temperature"),
            gr.Slider(0.05, 1.0, value=1.0, step=0.05, label="Top-p"),
            gr.Slider(1, max_tokens_limit, value=64, step=1, label="Max new tokens"),
        ],
    )
    with gr.Blocks(title="LLM Roadmap: your model") as demo:
        if note:
            gr.Markdown(note, elem_id="model-note")
        chat.render()  # built outside: its controls stay in its own accordion
    return demo
