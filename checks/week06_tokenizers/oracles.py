"""Independent oracles for the week-06 checks (never the course's own code).

Merges come from HF tokenizers' BpeTrainer, token bytes from GPT-2's published byte table, ids
from tiktoken built here with the same ranks, Unigram models from sentencepiece's trainer on the
Shakespeare fixtures. tokenizers, tiktoken, regex and sentencepiece are imported inside the
functions, so importing this module does not need the hf extra.
"""

import json
from collections import Counter

from course.data import fixture_path

GPT2_SPLIT_PATTERN = (
    r"""'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
)
GPT4_SPLIT_PATTERN = (
    r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}+|\p{N}{1,3}"""
    r"""| ?[^\s\p{L}\p{N}]++[\r\n]*|\s*[\r\n]|\s+(?!\S)|\s+"""
)
SPECIALS = ("<PAD>", "<UNK>", "<BOS>", "<EOS>", "<|endoftext|>")


def read_fixture(name: str) -> str:
    """A committed text, byte for byte (read_text would turn the CRLF line into LF)."""
    return fixture_path("week06", name).read_bytes().decode("utf-8")


def gpt2_byte_table() -> dict[int, str]:
    """GPT-2's bytes_to_unicode (openai/gpt-2 src/encoder.py), the published table."""
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1))
    bs += list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, map(chr, cs)))


def hf_merges(text: str, vocab_size: int, pattern: str) -> dict[tuple[int, int], int]:
    """Merges learned by HF tokenizers' BpeTrainer, in this course's ids (merge r -> 256 + r).

    A merge whose bytes already exist as a token is skipped, so every id has distinct bytes.
    """
    from tokenizers import Regex, Tokenizer, models, pre_tokenizers, trainers

    hf = Tokenizer(models.BPE())
    hf.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(pattern), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    hf.train_from_iterator([text], trainer)
    raw = json.loads(hf.to_str())["model"]["merges"]
    inverse = {c: b for b, c in gpt2_byte_table().items()}
    ids = {bytes([b]): b for b in range(256)}
    merges = {}
    for merge in raw:
        left, right = merge.split(" ") if isinstance(merge, str) else merge
        lb, rb = bytes(inverse[c] for c in left), bytes(inverse[c] for c in right)
        if lb + rb in ids:
            continue
        ids[lb + rb] = 256 + len(merges)
        merges[(ids[lb], ids[rb])] = ids[lb + rb]
    return merges


def token_bytes(merges: dict[tuple[int, int], int]) -> dict[int, bytes]:
    """id -> bytes of every token, computed here from the merges (not with the course's code)."""
    vocab = {i: bytes([i]) for i in range(256)}
    for (left, right), new in merges.items():
        vocab[new] = vocab[left] + vocab[right]
    return vocab


def tiktoken_oracle(merges: dict[tuple[int, int], int], pattern: str, specials: dict[str, int]):
    """A tiktoken.Encoding with the same ranks: the reference encoder."""
    import tiktoken

    ranks = {b: i for i, b in token_bytes(merges).items()}
    return tiktoken.Encoding(
        "oracle", pat_str=pattern, mergeable_ranks=ranks, special_tokens=specials
    )


def special_ids(merges: dict[tuple[int, int], int]) -> dict[str, int]:
    """The course's convention: specials get the ids right after the merges, in SPECIALS order."""
    return {s: 256 + len(merges) + i for i, s in enumerate(SPECIALS)}


PATTERNS = {"gpt2": GPT2_SPLIT_PATTERN, "gpt4": GPT4_SPLIT_PATTERN}


def replace_pair(ids: list[int], pair: tuple[int, int], new_id: int) -> list[int]:
    """Left-to-right, non-overlapping replacement, done with str.replace on code points.

    str.replace scans left to right and never overlaps matches, which is exactly BPE's rule, so
    this is an independent implementation of merge_pair.
    """
    text = "".join(map(chr, ids)).replace(chr(pair[0]) + chr(pair[1]), chr(new_id))
    return list(map(ord, text))


def naive_train(text: str, vocab_size: int, pattern: str) -> list[tuple[tuple[int, int], int]]:
    """BPE training by its definition: recount every pair of every word after each merge.

    Slow but obviously right. Tie rule of this course: highest count, then the smallest pair.
    """
    import regex

    words = [list(w.encode("utf-8")) for w in regex.findall(pattern, text)]
    merges = []
    for new_id in range(256, vocab_size):
        counts = Counter(pair for w in words for pair in zip(w, w[1:]))
        if not counts:
            break
        pair = min(counts, key=lambda p: (-counts[p], p))
        merges.append((pair, counts[pair]))
        words = [replace_pair(w, pair, new_id) for w in words]
    return merges


AAABDAAABAC_MERGES = [((97, 97), 4), ((97, 98), 2), ((256, 257), 2)]


def aaabdaaabac_cause(got: list) -> str:
    """The likely cause of a wrong answer to train("aaabdaaabac", 259), read off the first wrong
    merge (see the derivation in test_naive/test_train): each step of the example tests one rule."""
    want = AAABDAAABAC_MERGES
    if len(got) != len(want):
        return f"vocab_size - 256 = 3 merges were asked (ids 256, 257, 258), got {len(got)}"
    if [pair for pair, _ in got] == [pair for pair, _ in want]:
        return "each merge records the pair's count at the moment it is merged"
    if got[0][0] != want[0][0]:
        return "overlapping pairs must count (aa twice in aaa): (97, 97) occurs 4 times"
    if got[1][0] == (256, 97):
        return "the tie at step 2 goes to the smallest pair (97, 98), not (256, 97)"
    if got[1][0] != want[1][0]:
        return (
            "recount after every merge (or subtract all the old pairs of each changed word): "
            "the merged pair must not be picked again"
        )
    return "merge number r creates id 256 + r, so the third merge is (256, 257)"


# --- sentencepiece Unigram models (w06.unigram_spm, w06.unigram_train) ---------------------------
# the training settings under which normalize + unigram_segment is sentencepiece's encoder
SPM_SETTINGS = dict(
    model_type="unigram",
    normalization_rule_name="identity",  # no NFKC: the text's characters stay as they are
    byte_fallback=True,  # uncovered characters become <0xNN> pieces, never <unk>
    character_coverage=1.0,  # every character of the training text is a piece
    split_by_unicode_script=False,  # pieces split only at spaces, as words_of does
    split_by_number=False,
    max_sentencepiece_length=16,
    minloglevel=2,  # quiet
)


def held_out_lines() -> list[str]:
    """The second half of tinyshakespeare_next16k.txt: never seen by the models trained here."""
    lines = read_fixture("tinyshakespeare_next16k.txt").splitlines()
    return lines[len(lines) // 2 :]


def training_lines() -> list[str]:
    """tinyshakespeare_4k.txt and the first half of tinyshakespeare_next16k.txt (about 12 KB)."""
    lines = read_fixture("tinyshakespeare_next16k.txt").splitlines()
    return read_fixture("tinyshakespeare_4k.txt").splitlines() + lines[: len(lines) // 2]


def train_spm(lines: list[str], n_pieces: int, path) -> str:
    """Train sentencepiece's Unigram on `lines` with SPM_SETTINGS; return the model file's path.

    vocab_size counts <unk>, <s>, </s> and the 256 byte pieces, so n_pieces + 259 leaves exactly
    n_pieces pieces for the lattice.
    """
    import sentencepiece

    prefix = str(path / f"unigram{n_pieces}")
    sentencepiece.SentencePieceTrainer.train(
        sentence_iterator=iter(lines),
        model_prefix=prefix,
        vocab_size=n_pieces + 259,
        **SPM_SETTINGS,
    )
    return prefix + ".model"
