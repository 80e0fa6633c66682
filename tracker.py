"""LLM Roadmap's tracker: run your checks, see your progress, get hints.

    python tracker.py              # status: run every ready check, print the table, update progress/ and logs/
    python tracker.py next         # what to do next
    python tracker.py check 1      # one week (or one exercise: check w01.softmax)
    python tracker.py --help       # every command

The machinery lives in the roadmap/ package; this file is only the entry point.
"""

import sys

from roadmap.cli import main

if __name__ == "__main__":
    sys.exit(main())
