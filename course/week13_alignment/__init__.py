"""Week 13 given runtime: preference data, a character tokenizer for trl, the project."""
