"""Week 03: embeddings, MLP language model, RNNs, word2vec: the project (given runtime)."""
