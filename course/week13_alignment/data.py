"""Preference pairs for week 13 and a character-level transformers tokenizer for trl (given).

The default pairs are synthetic and deterministic, built from the instruction data
(`dataset_path("instruction")`, Alpaca-style records): for record i,
  prompt   = the Alpaca prompt of record i ("### Instruction:\n...\n\n### Response:\n"),
  chosen   = record i's own output,
  rejected = either the output of another record (i + 1 + (i * 7) % (n - 1)) mod n, for even i,
             or record i's own output cut to its first third, for odd i.
So a model that prefers "chosen" must both answer the question asked and answer it fully.
`hh-rlhf/harmless-base-test.jsonl` is read only by `load_hh_rlhf` (the project's `--hh-rlhf`
flag): it contains offensive and upsetting text by design (red-team prompts).
"""

import json
from pathlib import Path

EOS = "\x03"  # end-of-text character appended to every response (one char of the vocabulary)
PAD = "\x00"


def alpaca_prompt(record: dict) -> str:
    """The instruction (and input, when present) in the Alpaca format, ending where the answer starts."""
    text = f"### Instruction:\n{record['instruction']}\n\n"
    if record.get("input"):
        text += f"### Input:\n{record['input']}\n\n"
    return text + "### Response:\n"


def preference_pairs(records: list[dict]) -> list[dict]:
    """Deterministic {"prompt", "chosen", "rejected"} pairs from instruction records (see module doc)."""
    n = len(records)
    pairs = []
    for i, record in enumerate(records):
        chosen = record["output"]
        if i % 2 == 0 and n > 1:
            rejected = records[(i + 1 + (i * 7) % (n - 1)) % n]["output"]
        else:
            rejected = chosen[: max(1, len(chosen) // 3)]
        if rejected == chosen:
            continue
        pairs.append({"prompt": alpaca_prompt(record), "chosen": chosen, "rejected": rejected})
    return pairs


def load_instruction_pairs(path: Path | None = None) -> list[dict]:
    """Preference pairs from the instruction data set (default: the registry's "instruction")."""
    if path is None:
        from course.data import dataset_path

        path = dataset_path("instruction")
    return preference_pairs(json.loads(Path(path).read_text(encoding="utf-8")))


def load_hh_rlhf(path: Path | None = None, limit: int | None = None) -> list[dict]:
    """hh-rlhf harmless-base test pairs as {"prompt", "chosen", "rejected"}: the shared prefix of the
    two conversations is the prompt. Contains offensive text by design: opt-in only."""
    if path is None:
        from course.data import dataset_path

        path = dataset_path("hh-rlhf-harmless-test")
    pairs = []
    for line in Path(path).read_text(encoding="utf-8").splitlines()[:limit]:
        row = json.loads(line)
        a, b = row["chosen"], row["rejected"]
        k = 0
        while k < min(len(a), len(b)) and a[k] == b[k]:
            k += 1
        cut = a.rfind("Assistant:", 0, k)
        cut = cut + len("Assistant:") if cut >= 0 else k
        pairs.append({"prompt": a[:cut], "chosen": a[cut:], "rejected": b[cut:]})
    return pairs


def char_vocab(texts: list[str]) -> list[str]:
    """The sorted characters of `texts`, with PAD first and EOS second."""
    chars = sorted(set("".join(texts)) - {PAD, EOS})
    return [PAD, EOS, *chars]


def hf_char_tokenizer(chars: list[str]):
    """A transformers PreTrainedTokenizerFast that maps each character to its index in `chars`.

    chars[0] is the pad token and chars[1] the EOS token (char_vocab's layout); unknown characters
    map to the pad id. Built in memory: nothing is downloaded.
    """
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {c: i for i, c in enumerate(chars)}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token=chars[0]))
    tok.pre_tokenizer = pre_tokenizers.Split(Regex("(?m:.)"), behavior="isolated")
    tok.decoder = decoders.Fuse()  # join characters without spaces
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, pad_token=chars[0], eos_token=chars[1], unk_token=chars[0]
    )
