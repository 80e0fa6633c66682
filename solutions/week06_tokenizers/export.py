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
    # the printable ranges keep their own code point; the rest are shifted past 255 in order
    keep = [*range(ord("!"), ord("~") + 1), *range(ord("¡"), ord("¬") + 1)]
    keep += list(range(ord("®"), ord("ÿ") + 1))
    table = {b: chr(b) for b in keep}
    shifted = 0
    for b in range(256):
        if b not in table:
            table[b] = chr(256 + shifted)
            shifted += 1
    return dict(sorted(table.items()))


def to_hf_json(tok: BPETokenizer) -> str:
    """The tokenizer as an HF `tokenizers` JSON string (loadable by PreTrainedTokenizerFast).

    Model BPE with vocab {byte-mapped token string: id} and merges [(left string, right string)] in
    rank order; pre-tokenizer = Split(your pattern, isolated) then ByteLevel(use_regex=False);
    decoder ByteLevel; special tokens added as AddedToken(special=True) with their ids.
    Example: merges {(104, 105): 256} ("h" + "i"), special {"<EOS>": 257} -> a JSON whose
    model.vocab holds "hi": 256, "Ġ": 32 and "<EOS>": 257, whose model.merges is [["h", "i"]], and
    whose Tokenizer encodes "hi hi<EOS>" as [256, 32, 256, 257], as tok.encode does.
    """
    # every token is written as byte-mapped characters, the same way GPT-2's vocab.json is
    table = bytes_to_unicode()

    def as_text(token: bytes) -> str:
        return "".join(table[b] for b in token)

    vocab = {as_text(tok.vocab[i]): i for i in range(256 + len(tok.merges))}
    vocab.update(tok.special_tokens)
    merges = [(as_text(tok.vocab[left]), as_text(tok.vocab[right])) for left, right in tok.merges]
    hf = Tokenizer(models.BPE(vocab=vocab, merges=merges))
    hf.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(tok.pattern), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    hf.decoder = decoders.ByteLevel()
    # subtle: the specials are already in the vocab, so add_special_tokens keeps their ids
    specials = sorted(tok.special_tokens, key=tok.special_tokens.get)
    hf.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in specials])
    return hf.to_str()


def to_tiktoken(tok: BPETokenizer, name: str = "week06") -> tiktoken.Encoding:
    """A tiktoken.Encoding with your pattern, ranks {token bytes: id} and special tokens.

    Example: merges {(104, 105): 256}, special {"<EOS>": 257} -> an Encoding named `name` with
    n_vocab 258 whose encode("hi hi<EOS>", allowed_special="all") is [256, 32, 256, 257].

    Raises:
        ValueError: if two ids have the same bytes (tiktoken keys ranks by bytes).
    """
    # a token's rank is its id: bytes 0..255 first, then merges in the order they were learned
    ranks = {tok.vocab[i]: i for i in range(256 + len(tok.merges))}
    if len(ranks) != 256 + len(tok.merges):
        raise ValueError("two tokens share the same bytes; tiktoken cannot represent that")
    return tiktoken.Encoding(
        name, pat_str=tok.pattern, mergeable_ranks=ranks, special_tokens=tok.special_tokens
    )
