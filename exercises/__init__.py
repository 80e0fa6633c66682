"""Your code: fill in the stubs, week by week. `python tracker.py next` tells you where to start."""
