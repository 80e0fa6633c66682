"""Week 08: inference: sampling, KV cache, beam search, speculative decoding, streaming, speed: the project (given runtime)."""
