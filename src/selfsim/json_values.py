"""Checking values read from JSON files (model configs, calibrations) and naming them
in one-line error messages."""

from __future__ import annotations

import json
import math


def is_int(value: object) -> bool:
    """A whole number; JSON's true/false are not numbers here."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value: object) -> bool:
    """A finite int or float; JSON's true/false and NaN/Infinity are not numbers here."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        return math.isfinite(value)
    except OverflowError:  # an int too large for a float
        return False


def show(value: object) -> str:
    """A value as it would read in the JSON file, cut short to keep messages one line."""
    try:
        text = json.dumps(value)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def finite(value: float, digits: int | None = None) -> float | None:
    """``value`` as a float (rounded to ``digits``) for JSON output, or None when it is
    NaN or infinite (JSON has no NaN)."""
    v = float(value)
    if not math.isfinite(v):
        return None
    return v if digits is None else round(v, digits)
