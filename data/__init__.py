"""Datasets for the course: a registry with public URLs and checksums, fetching, and local paths.

    from data import dataset_path
    text = dataset_path("tinyshakespeare").read_text()

Files live in a git-ignored cache (data/cache/, or env LLM_DATA_CACHE). `python tracker.py data fetch
NAME` downloads one and verifies its sha256; `--mirror DIR` or env LLM_DATA_MIRROR copies from a local
directory laid out like the registry's `mirror_path`s instead. Small fixtures written for the checks
live in data/fixtures/ and are committed.
"""

from data.registry import DATASETS, Dataset, DatasetMissing, dataset_path, fetch, fixture_path

__all__ = ["DATASETS", "Dataset", "DatasetMissing", "dataset_path", "fetch", "fixture_path"]
