"""Week 10: data at scale and distributed training: the project, the training command and the engine (given runtime)."""
