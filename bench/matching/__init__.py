"""Labelled evaluation data for the fuzzy surname matcher."""
