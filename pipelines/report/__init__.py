"""The run report: figures and a self-contained HTML page, drawn from the result tables."""
