"""Week 09 given runtime: the trainer (`llm-train`, train.py) and the project."""
