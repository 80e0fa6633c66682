"""tiny-gpt-infer: sample from a model that tiny-gpt-train wrote.

    tiny-gpt-infer --model runs/shakespeare_char --prompt "ROMEO:" --max-new-tokens 200
    tiny-gpt-infer --model runs/shakespeare_char/hf --prompt "ROMEO:" --temperature 0

--model is a run directory (ckpt.pt + char_vocab.json) or a transformers GPT-2 directory that
holds a char_vocab.json (what `--export-hf` writes). Same seed, same text.
"""

import argparse
from pathlib import Path

import torch

from roadmap.impl import TREES, load, set_tree

from .data import CharTokenizer


def load_model(model_dir: Path):
    """The GPT in `model_dir`: from ckpt.pt (week05 checkpoint) or a transformers GPT-2 directory."""
    if (model_dir / "ckpt.pt").exists():
        model, _ = load("week05_gpt.checkpoint").load_checkpoint(model_dir / "ckpt.pt")
        return model
    if (model_dir / "config.json").exists():
        from transformers.utils import logging as hf_logging

        hf_logging.disable_progress_bar()  # its loading bars would interleave with the text
        hf_logging.set_verbosity_error()
        return load("week05_gpt.hf").import_hf(model_dir)
    raise SystemExit(f"{model_dir}: neither ckpt.pt nor a transformers config.json found")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="tiny-gpt-infer", description=__doc__.splitlines()[0])
    p.add_argument("--model", type=Path, required=True, help="run directory or HF GPT-2 directory")
    p.add_argument("--prompt", default="\n", help="text to continue (default: a newline)")
    p.add_argument("--max-new-tokens", type=int, default=200)
    p.add_argument("--temperature", type=float, default=0.8, help="0 is greedy")
    p.add_argument("--top-k", type=int, default=None)
    p.add_argument(
        "--stop", default=None, help="cut the printed text after the first occurrence of this text"
    )
    p.add_argument("--seed", type=int, default=1337)
    p.add_argument(
        "--impl",
        choices=TREES,
        default="solutions",
        help="tree for the model and checkpoint code (default solutions; exercises is yours)",
    )
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    set_tree(args.impl)
    tok = CharTokenizer.load(args.model)
    model = load_model(args.model)
    idx = torch.tensor([tok.encode(args.prompt)], dtype=torch.long)
    out = model.generate(
        idx,
        args.max_new_tokens,
        temperature=args.temperature,
        top_k=args.top_k,
        generator=torch.Generator().manual_seed(args.seed),
    )
    text = tok.decode(out[0, idx.size(1) :].tolist())
    if args.stop and args.stop in text:
        text = text[: text.index(args.stop) + len(args.stop)]  # cut after the first stop text
    print(args.prompt + text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
