"""Week 14: quantisation (int8, 4-bit, GPTQ, AWQ, GGUF blocks), pruning, distillation, GGUF export."""
