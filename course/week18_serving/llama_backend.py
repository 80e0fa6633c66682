"""A GGUF file served through llama.cpp (llama-cpp-python) behind the same worker, API and UI.

`LlamaEngine` has the week-15 Engine's interface as the week-18 worker uses it (submit, cancel,
step, has_unfinished, the sequences / params / generators tables), so `llm-serve --gguf FILE` runs
the same EngineWorker and the same app as for a week-05 GPT: llama.cpp is only the forward pass.
llama.cpp holds one KV cache per context, so requests take turns: the oldest unfinished request gets
each step's token (no continuous batching: that is what week 15's engine adds).
`LlamaTokenizer` is the file's own vocabulary, read by llama.cpp (special tokens as single ids).

Install: CMAKE_ARGS="-DGGML_NATIVE=OFF" pip install llama-cpp-python  (or `pip install -e ".[llama]"`)
"""

import importlib.util
from dataclasses import dataclass, field
from pathlib import Path

INSTALL = 'CMAKE_ARGS="-DGGML_NATIVE=OFF" pip install llama-cpp-python'


def available() -> bool:
    return importlib.util.find_spec("llama_cpp") is not None


def load_llama(path: Path, n_ctx: int = 0, threads: int | None = None):
    """llama_cpp.Llama for `path` (n_ctx 0: the file's context length), logits of the last token."""
    if not available():
        raise SystemExit(f"--gguf needs llama-cpp-python, which is not installed: {INSTALL}")
    from llama_cpp import Llama

    return Llama(model_path=str(path), n_ctx=n_ctx, n_threads=threads, verbose=False)


class LlamaTokenizer:
    """The GGUF file's vocabulary through llama.cpp: encode, token_bytes, eos_token_id."""

    def __init__(self, llm, eos: str | None = None):
        self.llm = llm
        self.vocab_size = llm.n_vocab()
        self.eos_token_id = llm.token_eos()
        for name in [eos] if eos else ["<|im_end|>"]:
            ids = self.encode(name)
            if len(ids) == 1:  # a chat model: an answer ends at <|im_end|>
                self.eos_token_id = ids[0]

    def encode(self, text: str) -> list[int]:
        return self.llm.tokenize(text.encode("utf-8"), add_bos=False, special=True)

    def token_bytes(self, token: int) -> bytes:
        return self.llm.detokenize([token], special=True)

    def decode(self, ids: list[int]) -> str:
        return self.llm.detokenize(ids, special=True).decode("utf-8", errors="replace")


@dataclass
class _Sequence:
    """What the worker reads of a request: its prompt, its output and why it finished."""

    seq_id: int
    prompt: list[int]
    max_new_tokens: int
    eos_token_id: int | None
    output: list[int] = field(default_factory=list)
    finish_reason: str | None = None
    tokens_iter: object = None


@dataclass
class _Config:
    block_size: int


class _Model:
    """What callers read of engine.model: its config's block_size."""

    def __init__(self, block_size: int):
        self.config = _Config(block_size)


class LlamaEngine:
    """The week-15 Engine's interface over llama.cpp (one request at a time)."""

    def __init__(self, llm):
        self.llm = llm
        # the context the model was trained for (llama.cpp may round n_ctx up past it)
        arch = llm.metadata.get("general.architecture", "")
        trained = int(llm.metadata.get(f"{arch}.context_length", llm.n_ctx()))
        self.model = _Model(min(trained, llm.n_ctx()))
        self.sequences: dict[int, _Sequence] = {}
        self.params: dict = {}
        self.generators: dict = {}
        self._waiting: list[int] = []
        self._next_id = 0

    def submit(self, prompt: list[int], params=None) -> int:
        """Queue a request; returns its id. Raises ValueError as the week-15 Engine does."""
        from solutions.week15_efficient_inference.engine import SamplingParams

        params = params or SamplingParams()
        if not prompt or params.max_new_tokens < 1:
            raise ValueError("a request needs a non-empty prompt and max_new_tokens >= 1")
        total = len(prompt) + params.max_new_tokens
        if total > self.model.config.block_size:
            raise ValueError(
                f"prompt + max_new_tokens = {total} > block_size {self.model.config.block_size}"
            )
        rid = self._next_id
        self._next_id += 1
        self.sequences[rid] = _Sequence(
            rid, list(prompt), params.max_new_tokens, params.eos_token_id
        )
        self.params[rid] = params
        self.generators[rid] = None
        self._waiting.append(rid)
        return rid

    def cancel(self, request_id: int) -> bool:
        if request_id not in self._waiting:
            return False
        self._waiting.remove(request_id)
        self.sequences[request_id].finish_reason = "cancelled"
        return True

    def has_unfinished(self) -> bool:
        return bool(self._waiting)

    def _tokens(self, seq: _Sequence):
        p = self.params[seq.seq_id]
        greedy = p.temperature == 0
        return self.llm.generate(
            seq.prompt,
            temp=0.0 if greedy else p.temperature,
            top_k=1 if greedy else (p.top_k or 0),
            top_p=1.0 if greedy or p.top_p is None else p.top_p,
            min_p=0.0 if greedy or p.min_p is None else p.min_p,
            repeat_penalty=p.repetition_penalty or 1.0,
            reset=True,
        )

    def step(self) -> list:
        """One new token of the oldest unfinished request (a StepOutput), or []."""
        from solutions.week15_efficient_inference.engine import StepOutput

        if not self._waiting:
            return []
        seq = self.sequences[self._waiting[0]]
        if seq.tokens_iter is None:
            if self.params[seq.seq_id].seed is not None:
                self.llm.set_seed(self.params[seq.seq_id].seed)
            seq.tokens_iter = self._tokens(seq)
        token = int(next(seq.tokens_iter))
        seq.output.append(token)
        reason = None
        if seq.eos_token_id is not None and token == seq.eos_token_id:
            reason = "eos"
        elif len(seq.output) >= seq.max_new_tokens:
            reason = "length"
        if reason:
            seq.finish_reason = reason
            seq.tokens_iter = None
            self._waiting.pop(0)
        return [StepOutput(seq.seq_id, token, reason is not None, reason)]
