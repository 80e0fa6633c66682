"""Week 11: supervised fine-tuning: the project (given runtime)."""
