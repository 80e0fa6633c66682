"""The capstone: your model through every stage of the course, end to end, written up in SUMMARY.md.

`python tracker.py capstone [--short] [--impl solutions]`; see pipeline.py for the options and
stages.py for what each stage runs. Check: `pytest tests/test_capstone.py --impl=solutions`.
"""

from .pipeline import main
from .summary import write_summary

__all__ = ["main", "write_summary"]
