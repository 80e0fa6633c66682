"""Browser check for w18.ui (own file, outside the 10 s budget: ~15-25 s).

The Gradio ChatInterface (build_ui over the app and a fake worker with a scripted reply) runs on
127.0.0.1; headless Chromium (Playwright, /usr/bin/chromium) types a message, waits for the
streamed reply to appear, and saves a screenshot to reports/week18/ui_check.png. Skips with the
reason where no Chromium is installed (`apt-get install -y chromium`; .ci/run installs it).
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
    demo = ui.build_ui(client, "tiny")
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
