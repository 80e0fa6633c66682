"""Root conftest: loads the roadmap's pytest plugin (the --impl seam, todo reporting, extras)."""

pytest_plugins = ["roadmap.pytest_plugin"]
