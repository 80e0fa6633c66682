"""Checks for every week; run them against your code (default) or the reference (`--impl=solutions`)."""
