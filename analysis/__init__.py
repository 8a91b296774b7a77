"""Survival statistics on Polars frames, plotting, and reading/writing result tables.

Pure core: functions take frames and return frames or small result objects; the
warehouse I/O lives in a few named modules. (The statistics arrive with the analysis
issue; the package is installed now so that the layout is fixed.)
"""
