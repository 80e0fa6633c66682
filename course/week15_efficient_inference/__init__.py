"""Week 15: efficient inference: the project (given runtime)."""
