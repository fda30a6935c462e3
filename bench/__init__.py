"""Benchmarks: `python -m bench` runs every section (`--quick`, `--only SECTION`); each module also
runs on its own with `python -m bench.NAME`, from the repository root."""
