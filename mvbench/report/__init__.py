"""The report layer: comparison tables, significance tests, diagnostics, plots and the HTML report,
all rebuilt from the tracking store."""
