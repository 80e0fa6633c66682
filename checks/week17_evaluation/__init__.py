"""Checks of week 17: evaluation."""
