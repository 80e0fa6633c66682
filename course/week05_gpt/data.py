"""Text for the tiny-gpt commands: a character tokenizer (self-contained; week 02 builds its own) and
the train/val split.

Given code: the commands use it on either tree.
"""

import json
from pathlib import Path

import torch

VOCAB_FILE = "char_vocab.json"  # not vocab.json: that name belongs to HF's GPT-2 tokenizer


class CharTokenizer:
    """One id per distinct character of the training text, in sorted order.

    Example: CharTokenizer.from_text("hello") has chars "ehlo"; encode("hole") -> [1, 3, 2, 0].
    """

    def __init__(self, chars: str):
        self.chars = chars
        self.stoi = {ch: i for i, ch in enumerate(chars)}

    @classmethod
    def from_text(cls, text: str) -> "CharTokenizer":
        return cls("".join(sorted(set(text))))

    @property
    def vocab_size(self) -> int:
        return len(self.chars)

    def encode(self, text: str) -> list[int]:
        unknown = sorted(set(text) - self.stoi.keys())
        if unknown:
            raise ValueError(f"characters not in the vocabulary: {unknown!r}")
        return [self.stoi[ch] for ch in text]

    def decode(self, ids: list[int]) -> str:
        return "".join(self.chars[i] for i in ids)

    def save(self, run_dir: str | Path) -> Path:
        path = Path(run_dir) / VOCAB_FILE
        path.write_text(json.dumps({"chars": self.chars}, ensure_ascii=False), encoding="utf-8")
        return path

    @classmethod
    def load(cls, run_dir: str | Path) -> "CharTokenizer":
        path = Path(run_dir) / VOCAB_FILE
        return cls(json.loads(path.read_text(encoding="utf-8"))["chars"])


def load_text(text_file: str | Path | None) -> str:
    """The training text: `text_file` if given, else tiny Shakespeare from the data registry."""
    if text_file:
        return Path(text_file).read_text(encoding="utf-8")
    from course.data import dataset_path

    return dataset_path("tinyshakespeare").read_text(encoding="utf-8")


def train_val_split(ids: torch.Tensor, val_fraction: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Split a (N,) token stream: the first (1 - val_fraction) for training, the rest held out."""
    n = int(len(ids) * (1 - val_fraction))
    return ids[:n], ids[n:]
