"""Week 12 given runtime: the LoRA / QLoRA / full fine-tuning comparison project."""
