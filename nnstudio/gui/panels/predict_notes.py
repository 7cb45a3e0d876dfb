"""What the Predict panel says beside a prediction: the values it filled in for empty fields,
and dates outside the training range (see ``Preparation.dates_out_of_range``)."""

from __future__ import annotations

from typing import Any

import numpy as np

from nnstudio.core.data import dates as _dates
from nnstudio.core.data.kinds import MISSING_MARKERS, format_number, parse_date


def filled_fields(preparation: Any, row: dict[str, str]) -> dict[str, str]:
    """``{column: shown value}`` of the empty fields that preparation fills (as in training)."""
    out = {}
    for f in getattr(preparation, "features", []) or []:
        text = str(row.get(f["name"], "")).strip()
        if text.lower() not in MISSING_MARKERS or f.get("fill") is None:
            continue
        fill = f["fill"]
        if f["kind"] == "date":
            out[f["name"]] = _dates.format_date(fill)
        elif f["kind"] == "categorical":
            out[f["name"]] = str(fill)
        else:
            out[f["name"]] = format_number(round(float(fill), 6))
    return out


def prediction_notes(preparation: Any, row: dict[str, str]) -> list[str]:
    """Sentences for the result card: filled values, dates outside the training range."""
    notes = [f"{name} was empty: filled with {value}, as in training"
             for name, value in filled_fields(preparation, row).items()]
    if preparation is not None and hasattr(preparation, "dates_out_of_range"):
        days = {f["name"]: np.array([parse_date(str(row.get(f["name"], "")))])
                for f in preparation.features if f["kind"] == "date"}
        notes += preparation.dates_out_of_range(days)
    return notes
