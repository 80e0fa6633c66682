"""Week 07 project: the family table, and your LLaMA generating side by side with transformers.

1. family_table.md: parameters, attention type and KV-cache memory (bf16, at 4K context and at each
   model's max context) for the LLaMA-, Mistral-, Phi-3- and Qwen2-like configs in family.py.
2. generation.md: a tiny random MistralForCausalLM (sliding window active) is loaded into your Llama
   with your loader; both generate greedily from the same prompt and the tokens are shown side by side.
Run: `python tracker.py project 7` (your code) or `python tracker.py project 7 --impl solutions`.
"""

import torch

from roadmap.impl import load
from roadmap.project import parser, record, setup


def tiny_mistral(seed: int = 0):
    """A small random MistralForCausalLM (window 8) in eval mode; weights seeded, no download."""
    from transformers import MistralConfig, MistralForCausalLM

    config = MistralConfig(
        vocab_size=128,
        hidden_size=64,
        intermediate_size=172,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=128,
        sliding_window=8,
        bos_token_id=None,
        eos_token_id=None,
        pad_token_id=None,
        attn_implementation="eager",
    )
    torch.manual_seed(seed)
    model = MistralForCausalLM(config).eval()
    with torch.no_grad():
        for name, p in model.named_parameters():
            # larger than the default init so the greedy path is not one token repeated
            p.normal_(1.0 if "norm" in name else 0.0, 0.3)
    return model


def side_by_side(new_tokens: int, seed: int = 0) -> tuple[list[int], list[int], float]:
    """Greedy continuations of one prompt by transformers and by your Llama with the same weights."""
    load_llama = load("week07_architectures.load_llama")
    hf = tiny_mistral(seed)
    ours = load_llama.llama_from_hf(hf)
    prompt = torch.tensor([[3, 14, 15, 92, 65]])
    with torch.no_grad():
        theirs = hf.generate(
            prompt, max_new_tokens=new_tokens, do_sample=False, pad_token_id=0, eos_token_id=None
        )
        mine = ours.generate(prompt, new_tokens, temperature=0.0)
        logit_gap = (hf(theirs).logits - ours(theirs)[0]).abs().max().item()
    return theirs[0].tolist(), mine[0].tolist(), logit_gap


def main(argv: list[str] | None = None) -> int:
    args = parser(7, "Family table and a side-by-side generation with transformers.").parse_args(
        argv
    )
    out = setup(7, args)
    family = load("week07_architectures.family")
    table = family.family_table(family.FAMILIES, context=4096)
    (out / "family_table.md").write_text(
        "# Model families: parameters and KV cache (bf16)\n\n" + table + "\n", encoding="utf-8"
    )
    print(table)

    new_tokens = 12 if args.short else 40
    theirs, mine, gap = side_by_side(new_tokens)
    same = sum(a == b for a, b in zip(theirs, mine))
    lines = [
        "# Greedy generation: transformers MistralForCausalLM vs your Llama, same random weights",
        "",
        f"prompt: {theirs[:5]}; sliding window 8; {new_tokens} new tokens; "
        f"max |logit difference| over the full sequence {gap:.2e}",
        "",
        "| step | transformers | yours | same |",
        "|---:|---:|---:|:---:|",
        *[
            f"| {i} | {a} | {b} | {'yes' if a == b else '**no**'} |"
            for i, (a, b) in enumerate(zip(theirs[5:], mine[5:]))
        ],
        "",
    ]
    (out / "generation.md").write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))
    identical = theirs == mine
    record(
        7,
        f"family table: {len(family.FAMILIES)} configs | generation: {new_tokens} greedy tokens "
        f"{'identical' if identical else f'differ ({same}/{len(theirs)} equal)'} | "
        f"max logit gap {gap:.1e}",
        out,
    )
    return 0 if identical else 1


if __name__ == "__main__":
    raise SystemExit(main())
