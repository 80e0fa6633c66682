"""Checks for week 10: data at scale and distributed training."""
