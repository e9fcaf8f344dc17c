"""Batch runs: sweep files, executors (local pool, Dask), resumable campaign folders, analysis."""
