"""Week 14: quantisation, pruning, distillation, GGUF."""
