"""One run format and one loader: every model the course makes is a run directory.

A run directory is a Hugging Face `GPT2LMHeadModel` directory with its tokenizer, plus a card:

    config.json             GPT2Config (architecture)            } AutoModelForCausalLM and
    model.safetensors       the weights (GPT-2 names, tied head) } AutoTokenizer load it as it is
    tokenizer.json          byte-level BPE (HF tokenizers), special tokens included
    tokenizer_config.json   eos / pad tokens; the ChatML template when the chat specials are there
    run.json                the card: what made it, from which base, its metrics (written last)

`save_run(dir, model, tok, made_by=..., base=..., metrics=...)` writes one; `load_run(source)` reads
one back as (week-05 GPT in eval mode, RunTokenizer). `source` may also be any GPT-2-family model
directory or Hugging Face id (`gpt2` on a machine that is online): the same code then fine-tunes,
quantizes and serves a real pretrained model. Every project, the capstone and `llm-serve` use these
two functions; nothing converts between formats or guesses a tokenizer.

RunTokenizer has the week-06 BPETokenizer's interface (encode, decode, vocab, special_tokens, len),
so the weeks' code runs on it unchanged, including week 11's add_special_tokens (new specials are
written into tokenizer.json by the next save_run).
"""

import json
import os
import re
import time
from pathlib import Path

import torch

from solutions.week05_gpt.model import GPT, GPTConfig

FORMAT = "llm-roadmap run 1"
CARD = "run.json"
WEIGHTS = "model.safetensors"
CHAT_SPECIALS = ("<|endoftext|>", "<PAD>", "<|im_start|>", "<|im_end|>")
GPT2_GELU = ("gelu_new", "gelu_pytorch_tanh")  # GPT-2's tanh GELU: the week-05 GPT's activation
TRANSPOSED = ("attn.c_attn.weight", "attn.c_proj.weight", "mlp.c_fc.weight", "mlp.c_proj.weight")


class RunError(ValueError):
    """A directory or id that is not a run this course can load (the message says why)."""


# --- the tokenizer -------------------------------------------------------------------------------
def _byte_table() -> dict[str, int]:
    """GPT-2's printable character -> byte (the inverse of week 06's bytes_to_unicode)."""
    from solutions.week06_tokenizers.export import bytes_to_unicode

    return {c: b for b, c in bytes_to_unicode().items()}


class RunTokenizer:
    """A byte-level BPE from a run (HF `tokenizers`) with the week-06 BPETokenizer's interface.

    encode(text) gives every special token of `special_tokens` as its one id and the text between
    them as the HF tokenizer does; decode joins the tokens' bytes and decodes UTF-8 once.
    `special_tokens` and `vocab` are plain dicts: adding a special (week 11) is adding to both.
    """

    def __init__(self, hf, chat_template: str | None = None):
        spec = json.loads(hf.to_str())
        if (spec.get("decoder") or {}).get("type") != "ByteLevel":
            raise RunError("the tokenizer is not a byte-level BPE (GPT-2 family): not supported")
        self.hf = hf
        self.chat_template = chat_template
        self.end_of_turn: str | None = None  # a special that ends an answer instead of the default
        table = _byte_table()
        self.vocab: dict[int, bytes] = {}
        for token, i in hf.get_vocab(with_added_tokens=False).items():
            if all(c in table for c in token):
                self.vocab[i] = bytes(table[c] for c in token)
            else:
                self.vocab[i] = token.encode("utf-8")
        self.special_tokens: dict[str, int] = {}
        for i, added in sorted(hf.get_added_tokens_decoder().items()):
            if added.special:
                self.special_tokens[added.content] = i
                self.vocab[i] = added.content.encode("utf-8")
        self.pattern = _split_pattern(spec.get("pre_tokenizer"))
        ids = hf.get_vocab(with_added_tokens=False)
        self.merges: dict[tuple[int, int], int] = {}  # rank order, as the week-06 BPETokenizer's
        for merge in (spec.get("model") or {}).get("merges", []):
            left, right = merge.split(" ", 1) if isinstance(merge, str) else merge
            self.merges[(ids[left], ids[right])] = ids[left + right]
        self._split = None
        self._split_for: tuple = ()

    # -- constructors
    @classmethod
    def from_bpe(cls, tok) -> "RunTokenizer":
        """From a week-06 BPETokenizer (yours or the reference): the same ids for every text."""
        from tokenizers import Tokenizer

        from solutions.week06_tokenizers.export import to_hf_json

        run_tok = cls(Tokenizer.from_str(to_hf_json(tok)))
        run_tok.chat_template = default_chat_template(run_tok.special_tokens)
        return run_tok

    @classmethod
    def from_file(cls, path: str | Path) -> "RunTokenizer":
        """A tokenizer.json (HF), or a week-06 `tokenizer.bpe` file written by BPETokenizer.save."""
        path = Path(path)
        if path.suffix == ".bpe":
            from solutions.week06_tokenizers.tokenizer import BPETokenizer

            return cls.from_bpe(BPETokenizer.load(path))
        from tokenizers import Tokenizer

        template = None
        config = path.parent / "tokenizer_config.json"
        if config.exists():
            template = json.loads(config.read_text(encoding="utf-8")).get("chat_template")
        tok = cls(Tokenizer.from_file(str(path)))
        tok.chat_template = template or default_chat_template(tok.special_tokens)
        return tok

    @classmethod
    def from_pretrained(cls, source: str | Path) -> "RunTokenizer":
        """Any GPT-2-family tokenizer transformers can load (a directory or a hub id)."""
        from transformers import AutoTokenizer

        hf_tok = AutoTokenizer.from_pretrained(str(source))
        tok = cls(hf_tok.backend_tokenizer)
        tok.chat_template = getattr(hf_tok, "chat_template", None) or default_chat_template(
            tok.special_tokens
        )
        return tok

    # -- the week-06 interface
    def __len__(self) -> int:
        return max(self.vocab) + 1

    def encode(self, text: str) -> list[int]:
        """Ids of `text`; each special token in it is one id."""
        specials = tuple(sorted(self.special_tokens, key=len, reverse=True))
        if specials != self._split_for:
            self._split_for = specials
            self._split = (
                re.compile("(" + "|".join(re.escape(s) for s in specials) + ")")
                if specials
                else None
            )
        pieces = self._split.split(text) if self._split else [text]
        ids: list[int] = []
        for piece in pieces:
            if piece in self.special_tokens:
                ids.append(self.special_tokens[piece])
            elif piece:
                ids += self.hf.encode(piece, add_special_tokens=False).ids
        return ids

    def encode_ordinary(self, text: str) -> list[int]:
        """Ids of `text` with special tokens treated as plain text."""
        return self.hf.encode(text, add_special_tokens=False).ids if text else []

    def decode(self, ids: list[int]) -> str:
        return b"".join(self.vocab[i] for i in ids).decode("utf-8", errors="replace")

    # -- what the server needs
    def token_bytes(self, token: int) -> bytes:
        return self.vocab[token]

    @property
    def vocab_size(self) -> int:
        return len(self)

    @property
    def eos_token_id(self) -> int | None:
        """end_of_turn's id when set; else <|im_end|> for a chat tokenizer (an answer ends there),
        else <|endoftext|>."""
        for name in (self.end_of_turn, "<|im_end|>", "<|endoftext|>"):
            if name in self.special_tokens:
                return self.special_tokens[name]
        return None

    @property
    def is_chat(self) -> bool:
        return "<|im_start|>" in self.special_tokens and "<|im_end|>" in self.special_tokens

    def to_hf(self):
        """A copy of the HF tokenizer with every special of `special_tokens` added, ids checked."""
        from tokenizers import AddedToken, Tokenizer

        hf = Tokenizer.from_str(self.hf.to_str())
        for name, i in sorted(self.special_tokens.items(), key=lambda kv: kv[1]):
            if hf.token_to_id(name) != i:
                hf.add_special_tokens([AddedToken(name, special=True, normalized=False)])
                if hf.token_to_id(name) != i:
                    raise RunError(
                        f"special token {name!r} has id {i}, but the next free id of the "
                        f"tokenizer is {hf.token_to_id(name)}: specials must take the ids after "
                        "the vocabulary, in order"
                    )
        return hf


def _split_pattern(pre: dict | None) -> str | None:
    """The regex that splits text before BPE: a Split pre-tokenizer's, or GPT-2's for a ByteLevel
    pre-tokenizer that uses its own regex (GPT-2's hub files); None when there is none."""
    from solutions.week06_tokenizers.patterns import GPT2_SPLIT_PATTERN

    if not pre:
        return None
    if pre.get("type") == "Sequence":
        for part in pre.get("pretokenizers", []):
            found = _split_pattern(part)
            if found:
                return found
        return None
    if pre.get("type") == "Split":
        pattern = pre.get("pattern") or {}
        return pattern.get("Regex") or pattern.get("String")
    if pre.get("type") == "ByteLevel" and pre.get("use_regex", True):
        return GPT2_SPLIT_PATTERN
    return None


def default_chat_template(special_tokens: dict[str, int]) -> str | None:
    """Week 11's ChatML template when the tokenizer has <|im_start|> and <|im_end|>, else None."""
    if "<|im_start|>" in special_tokens and "<|im_end|>" in special_tokens:
        from solutions.week11_sft.hf_sft import chatml_template

        return chatml_template()
    return None


def as_run_tokenizer(tok) -> RunTokenizer:
    """A RunTokenizer as it is; a week-06 BPETokenizer (anything with merges) converted."""
    if isinstance(tok, RunTokenizer):
        return tok
    if hasattr(tok, "merges") and hasattr(tok, "pattern"):
        return RunTokenizer.from_bpe(tok)
    raise TypeError(f"not a tokenizer a run can hold: {type(tok).__name__}")


# --- the model ----------------------------------------------------------------------------------
def gpt2_config(config: GPTConfig) -> dict:
    """config.json of a GPT2LMHeadModel with the architecture of `config`."""
    return {
        "architectures": ["GPT2LMHeadModel"],
        "model_type": "gpt2",
        "vocab_size": config.vocab_size,
        "n_positions": config.block_size,
        "n_embd": config.n_embd,
        "n_layer": config.n_layer,
        "n_head": config.n_head,
        "n_inner": None,
        "activation_function": "gelu_new",
        "resid_pdrop": 0.0,
        "embd_pdrop": 0.0,
        "attn_pdrop": 0.0,
        "layer_norm_epsilon": 1e-5,
        "initializer_range": 0.02,
        "scale_attn_weights": True,
        "use_cache": True,
        "tie_word_embeddings": True,
        "bos_token_id": None,
        "eos_token_id": None,
        "dtype": "float32",
    }


def hf_weights(model: GPT) -> dict[str, torch.Tensor]:
    """The model's weights under GPT2LMHeadModel's names and layouts (Conv1D weights transposed);
    a model without biases gets zero biases (the same function), the tied head is left out."""
    state = {k: v.detach().float().cpu() for k, v in model.state_dict().items()}
    if not model.config.bias:  # GPT-2 has biases everywhere: zeros compute the same thing
        for name, p in list(state.items()):
            if name.endswith(".weight") and ("ln_" in name or "c_" in name):
                bias_name = name[: -len("weight")] + "bias"
                if bias_name not in state:
                    state[bias_name] = torch.zeros(p.shape[0])
    state.pop("lm_head.weight", None)  # tied to transformer.wte.weight
    return {
        k: (v.t() if k.endswith(TRANSPOSED) else v).contiguous().clone() for k, v in state.items()
    }


def model_from_dir(folder: Path) -> GPT:
    """The week-05 GPT (eval mode) from config.json + model.safetensors in GPT-2's format."""
    from safetensors.torch import load_file

    c = json.loads((folder / "config.json").read_text(encoding="utf-8"))
    if c.get("model_type") != "gpt2":
        raise RunError(f"{folder}: model_type {c.get('model_type')!r}; only GPT-2 models load")
    if c.get("activation_function", "gelu_new") not in GPT2_GELU:
        raise RunError(f"{folder}: activation {c['activation_function']!r}: the GPT uses gelu_new")
    config = GPTConfig(
        block_size=c["n_positions"],
        vocab_size=c["vocab_size"],
        n_layer=c["n_layer"],
        n_head=c["n_head"],
        n_embd=c["n_embd"],
        dropout=0.0,
        bias=True,
    )
    raw = load_file(str(folder / WEIGHTS))
    state = {}
    for k, v in raw.items():
        if k.endswith((".attn.bias", ".attn.masked_bias")):
            continue
        k = k if k.startswith(("transformer.", "lm_head.")) else "transformer." + k
        state[k] = v.t().contiguous() if k.endswith(TRANSPOSED) else v
    state.setdefault("lm_head.weight", state["transformer.wte.weight"])
    model = GPT(config)
    missing, unexpected = model.load_state_dict(state, strict=False)
    if missing or unexpected:
        raise RunError(f"{folder}: weights do not fit: missing {missing}, unexpected {unexpected}")
    return model.eval()


# --- save and load ------------------------------------------------------------------------------
def _write(path: Path, data: bytes | str) -> None:
    """Atomically: a temporary file in the same folder, then a rename."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    if isinstance(data, str):
        tmp.write_text(data, encoding="utf-8")
    else:
        tmp.write_bytes(data)
    os.replace(tmp, path)


def write_tokenizer(folder: str | Path, tok, max_length: int | None = None) -> Path:
    """tokenizer.json and tokenizer_config.json (eos, pad, the ChatML template when the chat
    specials are there) of `tok` (a RunTokenizer or a week-06 BPETokenizer) in `folder`;
    `RunTokenizer.from_file(folder / "tokenizer.json")` and AutoTokenizer read them back."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    tok = as_run_tokenizer(tok)
    _write(folder / "tokenizer.json", tok.to_hf().to_str(pretty=True))
    template = tok.chat_template or default_chat_template(tok.special_tokens)
    eos = "<|im_end|>" if tok.is_chat else "<|endoftext|>"
    tok_config = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "clean_up_tokenization_spaces": False,
    }
    if max_length:
        tok_config["model_max_length"] = max_length
    if eos in tok.special_tokens:
        tok_config["eos_token"] = eos
    if "<PAD>" in tok.special_tokens:
        tok_config["pad_token"] = "<PAD>"
    if template:
        tok_config["chat_template"] = template
    _write(folder / "tokenizer_config.json", json.dumps(tok_config, indent=2) + "\n")
    return folder / "tokenizer.json"


def save_run(
    run_dir: str | Path,
    model: GPT,
    tok,
    *,
    made_by: str,
    base: str | None = None,
    metrics: dict | None = None,
    **card,
) -> Path:
    """Write `model` and `tok` as a run directory (see the module docstring); return its path.

    made_by: what made it ("week 11 SFT project", "capstone dpo", "llm-train ...");
    base: the run (directory or id) it started from, None for a model trained from scratch;
    metrics: its measured numbers; any other keyword goes into run.json as it is.
    Files are replaced atomically and run.json comes last, so a half-written run has no card.
    """
    from safetensors.torch import save as save_safetensors

    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    tok = as_run_tokenizer(tok)
    if len(tok) > model.config.vocab_size:
        raise RunError(f"the tokenizer has {len(tok)} ids, the model {model.config.vocab_size}")
    (run_dir / CARD).unlink(missing_ok=True)  # not a run until it is whole again
    _write(run_dir / "config.json", json.dumps(gpt2_config(model.config), indent=2) + "\n")
    _write(run_dir / WEIGHTS, save_safetensors(hf_weights(model), metadata={"format": "pt"}))
    write_tokenizer(run_dir, tok, model.config.block_size)
    c = model.config
    info = {
        "format": FORMAT,
        "name": run_dir.name,
        "made_by": made_by,
        "base": base,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "created_ns": time.time_ns(),
        "architecture": {
            "n_layer": c.n_layer,
            "n_head": c.n_head,
            "n_embd": c.n_embd,
            "block_size": c.block_size,
            "vocab_size": c.vocab_size,
            "parameters": sum(p.numel() for p in model.parameters()),
        },
        "tokenizer": {"ids": len(tok), "specials": tok.special_tokens, "chat": tok.is_chat},
        "metrics": metrics or {},
        **card,
    }
    _write(run_dir / CARD, json.dumps(info, indent=2, default=str) + "\n")
    return run_dir


def is_run(folder: str | Path) -> bool:
    """True for a whole run directory written by save_run."""
    return (Path(folder) / CARD).is_file() and (Path(folder) / WEIGHTS).is_file()


def read_card(folder: str | Path) -> dict:
    """run.json of a run ({} for a plain Hugging Face directory)."""
    path = Path(folder) / CARD
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}


def load_run(source: str | Path) -> tuple[GPT, RunTokenizer]:
    """(week-05 GPT in eval mode, RunTokenizer) from a run directory, any GPT-2-family model
    directory, or a Hugging Face model id (`gpt2`, online only).

    Raises:
        RunError: a folder that holds no model, or a model or tokenizer this course cannot run.
    """
    folder = Path(source)
    if folder.is_dir():
        has_weights = (folder / WEIGHTS).is_file()
        if not has_weights and not any(folder.glob("pytorch_model*.bin")):
            if (folder / "ckpt.pt").is_file():
                raise RunError(
                    f"{folder} holds a training checkpoint (ckpt.pt) but no run: runs are written "
                    "at the end of training (config.json, model.safetensors, tokenizer.json, "
                    "run.json)"
                )
            raise RunError(f"{folder}: no model here (config.json + model.safetensors)")
        if has_weights and (folder / "tokenizer.json").is_file():
            return model_from_dir(folder), RunTokenizer.from_file(folder / "tokenizer.json")
    elif not re.fullmatch(r"[\w.-]+(/[\w.-]+)?", str(source)) or str(source).startswith("."):
        raise RunError(f"{source}: no such directory (and not a Hugging Face model id)")
    # a plain Hugging Face directory or id: transformers reads whatever files it has
    from solutions.week05_gpt.hf import import_hf

    try:
        model = import_hf(source)
        tok = RunTokenizer.from_pretrained(source)
    except OSError as e:  # offline, or no such model
        raise RunError(f"{source}: transformers could not load it ({e})") from e
    return model, tok


def find_runs(root: str | Path) -> list[Path]:
    """Every whole run under `root`, newest first (by the time in its card)."""
    root = Path(root)
    if not root.is_dir():
        return []
    runs = [p.parent for p in root.rglob(CARD) if is_run(p.parent)]
    return sorted(runs, key=lambda r: read_card(r).get("created_ns", 0), reverse=True)
