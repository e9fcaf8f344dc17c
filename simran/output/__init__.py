"""What a run leaves behind: KPI collectors, the HDF5 results file, plots (matplotlib, lazily)."""
