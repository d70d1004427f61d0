"""Issue #6 benchmark harness: ``python bench/run.py`` (see bench/README.md)."""
