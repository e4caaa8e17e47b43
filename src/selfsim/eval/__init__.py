"""Measuring retrieval: metrics, query edits and classical baselines."""
