"""Measuring retrieval: metrics and classical baselines (pHash, ORB + RANSAC)."""
