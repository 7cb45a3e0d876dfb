"""Monitoring a model: how far new data has drifted from the training split (no Qt).

Public API
----------
``reference_from_training(model, prepared)``, ``reference_from_table(model, table, source)``
    The compact training reference stored in model files (:mod:`.reference`).
``from_log(model, path, fingerprint)``, ``from_table(model, path, labels)`` → ``Current``
    What the model sees now: a prediction log or a new data file.
``monitor(model, current, reference=None, thresholds=None, fingerprint=None) -> dict``
    Per-column PSI, KS / χ² tests (SciPy), missing and unseen shares, verdicts; prediction
    distribution; rolling accuracy or error.
``Thresholds``
    Where verdicts change.
``html_report(report) -> str``
    One self-contained HTML file with inline SVG plots.
"""

from .analysis import NO_REFERENCE, monitor
from .drift import Thresholds
from .html_report import html_report
from .reference import reference_from_table, reference_from_training
from .sources import Current, from_columns, from_log, from_table

__all__ = [
    "NO_REFERENCE",
    "Current",
    "Thresholds",
    "from_columns",
    "from_log",
    "from_table",
    "html_report",
    "monitor",
    "reference_from_table",
    "reference_from_training",
]
