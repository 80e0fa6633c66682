"""Week 14: your GPT as a GGUF file that llama.cpp runs, and the way back.

GGUF is one file: a header, key-value metadata (architecture hyper-parameters, the tokenizer) and
named tensors, each in a ggml type (F32, F16, Q8_0, Q4_0, ...). For architecture "gpt2" llama.cpp
expects these names (N = layer index) and, per tensor, ggml's dimension order, which lists the
fastest-varying dimension first: a torch nn.Linear weight (out, in) is ggml ne = [in, out], so it is
written as it is (the `gguf` writer reverses the numpy shape for you; never transpose it).

  transformer.wte.weight          token_embd.weight          (V, C)
  transformer.wpe.weight          position_embd.weight       (block_size, C)
  transformer.h.N.ln_1.{weight,bias}        blk.N.attn_norm.{weight,bias}
  transformer.h.N.attn.c_attn.{weight,bias} blk.N.attn_qkv.{weight,bias}
  transformer.h.N.attn.c_proj.{weight,bias} blk.N.attn_output.{weight,bias}
  transformer.h.N.ln_2.{weight,bias}        blk.N.ffn_norm.{weight,bias}
  transformer.h.N.mlp.c_fc.{weight,bias}    blk.N.ffn_up.{weight,bias}
  transformer.h.N.mlp.c_proj.{weight,bias}  blk.N.ffn_down.{weight,bias}
  transformer.ln_f.{weight,bias}  output_norm.{weight,bias}
  lm_head.weight                  output.weight              (tied to wte: written again)

Reference: the GGUF spec (github.com/ggml-org/ggml/blob/master/docs/gguf.md) and llama.cpp's
convert_hf_to_gguf.py (GPT2Model).
Check: `python tracker.py check w14.gguf`
"""

from pathlib import Path

import numpy as np
import torch
from gguf import GGMLQuantizationType, GGUFReader, GGUFWriter, LlamaFileType, TokenType

from solutions.week05_gpt.model import GPT, GPTConfig
from solutions.week06_tokenizers.export import bytes_to_unicode
from solutions.week06_tokenizers.patterns import GPT2_SPLIT_PATTERN, GPT4_SPLIT_PATTERN
from solutions.week06_tokenizers.tokenizer import BPETokenizer

from .ggml_quants import dequantize_q4_0, dequantize_q8_0, quantize_q4_0, quantize_q8_0

QTYPES = ("F32", "F16", "Q8_0", "Q4_0")
FILE_TYPES = {  # general.file_type: the type of most weights
    "F32": LlamaFileType.ALL_F32,
    "F16": LlamaFileType.MOSTLY_F16,
    "Q8_0": LlamaFileType.MOSTLY_Q8_0,
    "Q4_0": LlamaFileType.MOSTLY_Q4_0,
}
# the matrices a forward pass multiplies by: the only tensors stored in F16 / Q8_0 / Q4_0
MATMUL_SUFFIXES = (
    "attn_qkv.weight",
    "attn_output.weight",
    "ffn_up.weight",
    "ffn_down.weight",
)
MATMUL_NAMES = ("token_embd.weight", "output.weight")
PRE_TOKENIZERS = {GPT2_SPLIT_PATTERN: "gpt-2", GPT4_SPLIT_PATTERN: "llama-bpe"}
LAYER_PARTS = {  # week-05 name inside a block -> llama.cpp name inside blk.N
    "ln_1": "attn_norm",
    "attn.c_attn": "attn_qkv",
    "attn.c_proj": "attn_output",
    "ln_2": "ffn_norm",
    "mlp.c_fc": "ffn_up",
    "mlp.c_proj": "ffn_down",
}


def gguf_tensors(model: GPT) -> dict[str, np.ndarray]:
    """Every tensor of the GPT under its llama.cpp name (see the module docstring's table), as a
    float32 numpy array in torch's own layout (a Linear weight stays (out, in)).

    `output.weight` is a copy of the tied embedding (V, C). The attention mask buffer, if any, is
    not a weight and is left out. Example for n_layer=1: 16 names, "token_embd.weight" (V, C),
    "blk.0.attn_qkv.weight" (3C, C), "blk.0.attn_qkv.bias" (3C,), ..., "output.weight" (V, C).
    """
    # TODO(w14.gguf): return every tensor under its llama.cpp name, in torch's layout
    raise NotImplementedError(
        "w14.gguf: write gguf_tensors in exercises/week14_quantization/gguf_export.py"
    )


def gguf_vocab(tok: BPETokenizer) -> tuple[list[str], list[int], list[str]]:
    """(tokens, token_types, merges) in llama.cpp's "gpt2" (byte-level BPE) convention.

    tokens[i]: the text of id i for every id 0 .. len(tok) - 1, its bytes mapped through GPT-2's
        bytes_to_unicode (week 06): b" the" -> "Ġthe"; a special token is its own text ("<EOS>").
    token_types[i]: 3 (gguf.TokenType.CONTROL) for a special token, 1 (NORMAL) for the others.
    merges: "left right" for every merge in rank order, each side written like its token
        (merge (32, 116) -> "Ġ t").
    """
    # TODO(w14.gguf): return the tokens, their types and the merges as llama.cpp reads them
    raise NotImplementedError(
        "w14.gguf: write gguf_vocab in exercises/week14_quantization/gguf_export.py"
    )


def write_gguf(model: GPT, tok: BPETokenizer, path: str | Path, qtype: str = "F32") -> Path:
    """Write the model and its tokenizer as a GGUF file of architecture "gpt2"; returns the path.

    Tensors: gguf_tensors(model); token_embd, output and the four matmul weights of each block
    (attn_qkv, attn_output, ffn_up, ffn_down) are stored in `qtype` ("F32", "F16", "Q8_0" or
    "Q4_0"; Q8_0/Q4_0 through your quantize_q8_0 / quantize_q4_0, passed to the writer as uint8
    bytes with raw_dtype); position_embd, norms and biases stay F32.
    Metadata: general.architecture "gpt2", general.name "week05-gpt", general.file_type
    (gguf.LlamaFileType of qtype); gpt2.context_length = block_size, gpt2.embedding_length = C,
    gpt2.feed_forward_length = 4C, gpt2.block_count, gpt2.attention.head_count,
    gpt2.attention.layer_norm_epsilon = 1e-5; tokenizer.ggml.model "gpt2", tokenizer.ggml.pre
    ("gpt-2" for GPT-2's split pattern, "llama-bpe" for GPT-4's), tokenizer.ggml.tokens,
    tokenizer.ggml.token_type, tokenizer.ggml.merges (gguf_vocab), tokenizer.ggml.bos_token_id =
    id of "<BOS>" and eos_token_id = id of "<EOS>" (each "<|endoftext|>" when absent),
    tokenizer.ggml.add_bos_token False.

    Raises ValueError when qtype is unknown, the model's vocab_size is not len(tok), the pattern is
    neither GPT-2's nor GPT-4's, the tokenizer has no merge (llama.cpp needs one), or C is not a
    multiple of 32 for a block type.
    Example: qtype "Q4_0" -> general.file_type 2 (MOSTLY_Q4_0), token_embd, output and each
    block's four matmul weights as Q4_0 blocks; "F16" -> file_type 1 and those as float16; a
    tokenizer whose only
    special token is "<|endoftext|>" -> it is both bos_token_id and eos_token_id.
    """
    # TODO(w14.gguf): write the model and its tokenizer as a GGUF file llama.cpp can load
    raise NotImplementedError(
        "w14.gguf: write write_gguf in exercises/week14_quantization/gguf_export.py"
    )


def read_gguf(path: str | Path) -> tuple[GPTConfig, dict[str, torch.Tensor]]:
    """Read a file written by write_gguf back into a week-05 GPTConfig and state dict.

    Uses gguf.GGUFReader; the config comes from the gpt2.* metadata (vocab_size = the number of
    tokens); each tensor is turned back to float32 in torch layout (the reader's `shape` lists
    ggml's order, reversed from torch: use the torch shape of its data, or reverse it); Q8_0/Q4_0
    data is decoded with your dequantize_q8_0 / dequantize_q4_0. Names go back to the week-05
    ones, including "lm_head.weight" (= output.weight), so GPT(config).load_state_dict(state_dict)
    works; for F32 the round trip is exact.
    Example: read_gguf(write_gguf(model, tok, p, "F32")) -> (model.config, a state dict with which
    a new GPT gives exactly model's logits).
    """
    # TODO(w14.gguf): return the config and state dict stored in a file from write_gguf
    raise NotImplementedError(
        "w14.gguf: write read_gguf in exercises/week14_quantization/gguf_export.py"
    )
