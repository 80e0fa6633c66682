"""Checks of week 13: alignment."""
