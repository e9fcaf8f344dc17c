"""Vehicle drive traces: trace-set files, importers, the synthetic set, plots and replay."""
