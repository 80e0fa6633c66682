"""Shared pieces of the week-11 checks (not a check file itself): a byte tokenizer with the chat
specials, tiny GPTs, a hand-built ChatML encoding and two minimal optimizers.

The byte tokenizer is a week-06 BPETokenizer with no merges: every character of ASCII text is one
id (its byte), so expected ids and label masks can be written down by hand.
"""

import torch

from roadmap.checking import adam
from solutions.week05_gpt.model import GPT, GPTConfig
from solutions.week06_tokenizers.tokenizer import BPETokenizer

PAD, IM_START, IM_END = 256, 257, 258  # ids of "<PAD>", "<|im_start|>", "<|im_end|>"
VOCAB = 259


def chat_tokenizer() -> BPETokenizer:
    """Bytes 0..255 plus <PAD> 256, <|im_start|> 257, <|im_end|> 258."""
    return BPETokenizer(
        {}, special_tokens={"<PAD>": PAD, "<|im_start|>": IM_START, "<|im_end|>": IM_END}
    )


def b(text: str) -> list[int]:
    """The ids of ASCII text in the byte tokenizer: its bytes."""
    return list(text.encode("utf-8"))


def expected_chat(messages: list[dict[str, str]]) -> tuple[list[int], list[int]]:
    """ChatML ids and labels built from bytes: headers, "\\n" and non-assistant turns are -100;
    an assistant turn trains its content and <|im_end|>."""
    ids, labels = [], []
    for m in messages:
        header = [IM_START, *b(m["role"] + "\n")]
        body = [*b(m["content"]), IM_END]
        ids += header + body + b("\n")
        labels += [-100] * len(header)
        labels += body if m["role"] == "assistant" else [-100] * len(body)
        labels += [-100]
    return ids, labels


CONVERSATIONS = [
    [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hi there"},
        {"role": "assistant", "content": "Hello!"},
    ],
    [
        {"role": "user", "content": "2+2?"},
        {"role": "assistant", "content": "4"},
        {"role": "user", "content": "and 3+3"},
        {"role": "assistant", "content": "six"},
    ],
    [
        {"role": "user", "content": "Name a colour."},
        {"role": "assistant", "content": "Blue, like the sea."},
    ],
]


def tiny_gpt(
    seed: int = 0,
    vocab_size: int = VOCAB,
    block_size: int = 64,
    n_layer: int = 2,
    n_embd: int = 36,
    scale: float | None = None,
) -> GPT:
    """A (n_layer, 3 heads, C=36) week-05 GPT in eval mode; with `scale`, weights ~ N(0, scale)
    (larger than GPT-2's init, so attention is far from uniform and a leak shows)."""
    torch.manual_seed(seed)
    config = GPTConfig(
        block_size=block_size, vocab_size=vocab_size, n_layer=n_layer, n_head=3, n_embd=n_embd
    )
    model = GPT(config).eval()
    if scale is not None:
        g = torch.Generator().manual_seed(seed)
        with torch.no_grad():
            for name, p in model.named_parameters():
                if not name.endswith(("ln_1.weight", "ln_2.weight", "ln_f.weight")):
                    p.copy_(torch.randn(p.shape, generator=g) * scale)
    return model


class Adam:
    """step()/zero_grad() over a bare Adam (roadmap.checking.adam; torch.optim costs seconds)."""

    def __init__(self, params, lr: float):
        self.params = list(params)
        self._step = adam(self.params, lr)

    def step(self):
        self._step()

    def zero_grad(self):
        for p in self.params:
            p.grad = None


class Frozen(Adam):
    """An optimizer that never changes the weights (lr 0): every step sees the initial model."""

    def __init__(self, params):
        self.params = list(params)

    def step(self):
        pass
