"""Week 05: the transformer block and mini-GPT: the project (given runtime)."""
