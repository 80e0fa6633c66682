"""Machinery behind tracker.py: the manifest, the implementation seam, the check runner and progress.

Learners never need to read this package; everything they touch lives in `exercises/`.
"""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
