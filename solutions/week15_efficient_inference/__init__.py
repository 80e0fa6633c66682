"""Week 15: efficient inference: tiled attention, paged KV cache, continuous batching, a batched engine, linear and sparse attention."""
