"""Week 16: retrieval-augmented generation: chunking, embeddings, FAISS, BM25, hybrid ranking, citations, metrics."""
