"""Export your BPE to the two standard runtimes: HF `tokenizers` JSON and a `tiktoken.Encoding`.

Both runtimes encode exactly like your tokenizer when given the same ranks, which is the strongest
check that your merges and encoder are right. HF stores tokens as strings, so GPT-2 maps each byte
to a printable character first (`bytes_to_unicode`: the space 0x20 becomes "Ġ", newline "Ċ").
tiktoken stores tokens as bytes with their rank, and merges by rank of the concatenated bytes.
Check: `python tracker.py check w06.export`
"""

import tiktoken
from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, pre_tokenizers

from .tokenizer import BPETokenizer


def bytes_to_unicode() -> dict[int, str]:
    """GPT-2's byte -> printable character table, a bijection on all 256 bytes.

    Bytes that are already printable and not whitespace (33..126, 161..172, 174..255) map to
    themselves; the other 68 bytes map, in increasing order, to chr(256), chr(257), ...
    Example: 65 -> "A", 32 (space) -> "Ġ" (chr(256 + 32)), 10 (newline) -> "Ċ" (chr(256 + 10)).
    """
    # TODO(w06.export): return GPT-2's table of all 256 bytes, as the docstring defines it.
    raise NotImplementedError(
        "w06.export: write bytes_to_unicode in exercises/week06_tokenizers/export.py"
    )


def to_hf_json(tok: BPETokenizer) -> str:
    """The tokenizer as an HF `tokenizers` JSON string (loadable by PreTrainedTokenizerFast).

    Model BPE with vocab {byte-mapped token string: id} and merges [(left string, right string)] in
    rank order; pre-tokenizer = Split(your pattern, isolated) then ByteLevel(use_regex=False);
    decoder ByteLevel; special tokens added as AddedToken(special=True) with their ids.
    Example: merges {(104, 105): 256} ("h" + "i"), special {"<EOS>": 257} -> a JSON whose
    model.vocab holds "hi": 256, "Ġ": 32 and "<EOS>": 257, whose model.merges is [["h", "i"]], and
    whose Tokenizer encodes "hi hi<EOS>" as [256, 32, 256, 257], as tok.encode does.
    """
    # TODO(w06.export): return a tokenizers JSON that encodes and decodes as your tokenizer does.
    raise NotImplementedError(
        "w06.export: write to_hf_json in exercises/week06_tokenizers/export.py"
    )


def to_tiktoken(tok: BPETokenizer, name: str = "week06") -> tiktoken.Encoding:
    """A tiktoken.Encoding with your pattern, ranks {token bytes: id} and special tokens.

    Example: merges {(104, 105): 256}, special {"<EOS>": 257} -> an Encoding named `name` with
    n_vocab 258 whose encode("hi hi<EOS>", allowed_special="all") is [256, 32, 256, 257].

    Raises:
        ValueError: if two ids have the same bytes (tiktoken keys ranks by bytes).
    """
    # TODO(w06.export): return a tiktoken.Encoding that encodes as your tokenizer does.
    raise NotImplementedError(
        "w06.export: write to_tiktoken in exercises/week06_tokenizers/export.py"
    )
