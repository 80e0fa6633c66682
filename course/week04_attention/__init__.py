"""Week 04: attention: the project (given runtime)."""
