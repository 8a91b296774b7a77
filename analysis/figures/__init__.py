"""Figures drawn from the result tables (never recomputed), with matplotlib's Agg backend."""
