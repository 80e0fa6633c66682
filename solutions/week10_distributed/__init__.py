"""Week 10: data at scale and distributed training: cleaning, dedup, shards, DDP, ZeRO-1, tensor and pipeline parallelism."""
