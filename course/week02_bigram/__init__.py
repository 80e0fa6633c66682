"""Week 02: tokens, counts and the bigram model: the project (given runtime)."""
