"""Week 09: training at scale on one machine (reference solutions)."""
