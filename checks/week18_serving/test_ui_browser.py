"""Browser check for w18.ui (own file, outside the 10 s budget: ~15-25 s).

The Gradio ChatInterface (build_ui over the app and a fake worker with a scripted reply, with the
note a random model's server passes) runs on 127.0.0.1; headless Chromium (Playwright,
/usr/bin/chromium) sees the note above the chat, types a message, waits for the streamed reply to
appear, and saves a screenshot to reports/week18/ui_check.png. Skips with the reason where no
Chromium is installed (`apt-get install -y chromium`; .ci/run installs it).
"""

import os

import pytest
from fastapi.testclient import TestClient

from course.week18_serving.runtime import CHROMIUM, launch_chromium
from roadmap import ROOT
from roadmap.checking import free_port
from roadmap.impl import load

from .support import FakeWorker, app_for

REPLY = "Bonjour from the tiny model!"
NOTE = "random weights: a look at the server, not a trained model"


@pytest.fixture
def unlimited_address_space():
    """Chromium reserves tens of GB of virtual address space (V8's cage) and dies at launch under
    an RLIMIT_AS (the tracker's runner sets one): lift it for this check, restore it after."""
    import resource

    old = resource.getrlimit(resource.RLIMIT_AS)
    if old[0] != resource.RLIM_INFINITY:
        try:
            resource.setrlimit(resource.RLIMIT_AS, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
        except (ValueError, OSError):
            pytest.skip(
                f"an address-space limit (RLIMIT_AS {old[0]} bytes) is set and cannot be "
                "lifted: Chromium cannot start under it"
            )
    yield
    if old[0] != resource.RLIM_INFINITY:
        try:
            resource.setrlimit(resource.RLIMIT_AS, old)
        except (ValueError, OSError):
            pass


@pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="no browser: /usr/bin/chromium is not installed (apt-get install -y chromium)",
)
def test_the_chat_ui_streams_a_reply_in_a_real_browser(unlimited_address_space):
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    from openai import OpenAI
    from playwright.sync_api import sync_playwright

    ui = load("week18_serving.ui")
    app = app_for(FakeWorker(list(REPLY.encode())), block_size=1024)
    client = OpenAI(base_url="http://testserver/v1", api_key="none", http_client=TestClient(app))
    demo = ui.build_ui(client, "tiny", NOTE)
    port = free_port()
    demo.launch(
        server_name="127.0.0.1",
        server_port=port,
        prevent_thread_lock=True,
        quiet=True,
        show_error=True,
    )
    out = ROOT / "reports" / "week18"
    out.mkdir(parents=True, exist_ok=True)
    try:
        with sync_playwright() as p:
            browser = launch_chromium(p)
            page = browser.new_page(viewport={"width": 1000, "height": 700})
            page.goto(f"http://127.0.0.1:{port}/", wait_until="domcontentloaded")
            box = page.get_by_role("textbox").first
            box.wait_for(timeout=20000)
            note = page.locator("#model-note")
            assert note.is_visible() and NOTE in note.inner_text(), (
                f"build_ui(client, 'tiny', note): the note {NOTE!r} is not shown (#model-note: "
                f"{note.count()} element(s))"
            )
            assert note.bounding_box()["y"] < box.bounding_box()["y"], (
                "the note must stand above the chat, not below it"
            )
            box.fill("Hello there")
            box.press("Enter")
            try:
                page.get_by_text(REPLY).first.wait_for(timeout=20000)
            finally:
                page.screenshot(path=str(out / "ui_check.png"))
            browser.close()
    finally:
        demo.close()
    assert (out / "ui_check.png").stat().st_size > 1000


def test_without_a_note_the_ui_shows_none():
    os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    ui = load("week18_serving.ui")
    ui.history_to_messages("Hi", [])  # an untouched stub is todo before Gradio loads
    demo = ui.build_ui(object(), "tiny")
    ids = [getattr(b, "elem_id", None) for b in demo.blocks.values()]
    assert "model-note" not in ids, "build_ui without a note shows an empty #model-note block"
