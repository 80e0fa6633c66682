"""Week 06: tokenizers, byte-level BPE and friends: the project (given runtime)."""
