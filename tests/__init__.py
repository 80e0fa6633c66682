"""Maintainers' tests of the tracker itself (not learner checks)."""
