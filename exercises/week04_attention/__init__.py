"""Week 04: attention."""
