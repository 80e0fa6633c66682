"""Given runtime of week 18: tokenizers for the server and the models it can serve.

The server needs a tokenizer with encode(str) -> list[int], token_bytes(id) -> bytes and
eos_token_id. Three adapters:
- ByteTokenizer: one token per UTF-8 byte (ids 0..255) + <|endoftext|> (256); for tests and for
  a model trained here in --short runs.
- CharTokenizerAdapter: a week-05 character run (ckpt.pt + char_vocab.json).
- BPEAdapter: a week-06 BPETokenizer (week 09/11/13 checkpoints trained with it).
And `launch_chromium`, the headless browser the UI check and the project drive.
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


class CharTokenizerAdapter:
    """A week-05 CharTokenizer; characters it does not know are dropped from prompts."""

    eos_token_id = None

    def __init__(self, tok):
        self.tok = tok
        self.vocab_size = tok.vocab_size

    def encode(self, text: str) -> list[int]:
        return [self.tok.stoi[c] for c in text if c in self.tok.stoi]

    def token_bytes(self, token: int) -> bytes:
        return self.tok.chars[token].encode("utf-8")


class BPEAdapter:
    """A week-06 BPETokenizer (its special tokens are encoded as single ids)."""

    def __init__(self, tok, eos: str = "<|endoftext|>"):
        self.tok = tok
        self.eos_token_id = tok.special_tokens.get(eos)
        self.vocab_size = max(tok.vocab) + 1

    def encode(self, text: str) -> list[int]:
        return self.tok.encode(text)

    def token_bytes(self, token: int) -> bytes:
        return self.tok.vocab[token]


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


def load_run(run_dir: Path):
    """(model, tokenizer adapter) from a checkpoint folder: ckpt.pt plus char_vocab.json (week 05)
    or tokenizer.json (a week-06 BPETokenizer saved with its save())."""
    from solutions.week05_gpt.checkpoint import load_checkpoint

    model, _ = load_checkpoint(run_dir / "ckpt.pt")
    if (run_dir / "char_vocab.json").exists():
        from course.week05_gpt.data import CharTokenizer

        return model, CharTokenizerAdapter(CharTokenizer.load(run_dir))
    from solutions.week06_tokenizers.tokenizer import BPETokenizer

    for name in ("tokenizer.json", "tokenizer.model"):
        if (run_dir / name).exists() and hasattr(BPETokenizer, "load"):
            return model, BPEAdapter(BPETokenizer.load(run_dir / name))
    raise FileNotFoundError(f"{run_dir}: no char_vocab.json or tokenizer.json next to ckpt.pt")
