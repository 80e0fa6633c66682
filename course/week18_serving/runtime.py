"""Given runtime of week 18: the random model `llm-serve --random` shows, and the test browser.

The server needs a tokenizer with encode(str) -> list[int], token_bytes(id) -> bytes and
eos_token_id. A run's RunTokenizer (course/runs.py) has them; ByteTokenizer (one token per UTF-8
byte, ids 0..255, + <|endoftext|> 256) goes with `tiny_model`'s random weights, for tests and for a
look at the server before any model is trained. `launch_chromium` starts the headless browser the
UI checks and the project drive.
"""

from pathlib import Path

import torch

from solutions.week05_gpt.model import GPT, GPTConfig

CHROMIUM = Path("/usr/bin/chromium")  # Debian's; `playwright install` cannot download one here


def launch_chromium(playwright):
    """Headless Debian Chromium under Playwright, without background network traffic."""
    return playwright.chromium.launch(
        executable_path=str(CHROMIUM),
        headless=True,
        args=[
            "--no-sandbox",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ],
    )


class ByteTokenizer:
    """UTF-8 bytes as tokens; id 256 is <|endoftext|> (the eos)."""

    vocab_size = 257
    eos_token_id = 256

    def encode(self, text: str) -> list[int]:
        return list(text.encode("utf-8"))

    def token_bytes(self, token: int) -> bytes:
        return b"" if token >= 256 else bytes([token])

    def decode(self, ids: list[int]) -> str:
        return b"".join(self.token_bytes(i) for i in ids).decode("utf-8", errors="replace")


def tiny_model(
    vocab_size: int = 257,
    *,
    block_size: int = 128,
    n_layer: int = 2,
    n_embd: int = 64,
    seed: int = 0,
) -> GPT:
    """A small GPT with random weights (speed does not depend on what the weights say)."""
    torch.manual_seed(seed)
    config = GPTConfig(
        block_size=block_size, vocab_size=vocab_size, n_layer=n_layer, n_head=2, n_embd=n_embd
    )
    return GPT(config).eval()
