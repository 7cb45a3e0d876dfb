"""Property-based robustness of the dataset wizard's import path (issue 14): a mutated CSV,
NPZ or IDX file chosen as a source is inspected (``inspect_source``, what the source page
shows) and built (``build_dataset``, what the split page runs) with either a result or one
:class:`DataError` sentence — no other exception, no warning — and the real source page shows
that sentence and stays usable.
"""

from __future__ import annotations

import os
import warnings
from collections import Counter

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nnstudio.core.data import DatasetSpec, build_dataset
from nnstudio.core.errors import NNStudioError
from nnstudio.gui.wizards.dataset_source import inspect_source
from tests.robustness import strategies as fuzz
from tests.robustness.seeds import make_seeds

pytestmark = pytest.mark.gui

STATS: Counter = Counter()
EXAMPLES = {"ci": 60, "long": 1500}.get(os.environ.get("NNSTUDIO_HYPOTHESIS", "ci"), 60)


@pytest.fixture(scope="module")
def seed_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("import-seeds")
    make_seeds(folder)
    return folder


def _mutated(data, folder):
    kind = data.draw(st.sampled_from(["csv", "npz", "idx"]))
    if kind == "csv":
        path = folder / "f.csv"
        path.write_bytes(data.draw(fuzz.csv_file((folder / "d.csv").read_text())))
        return kind, path, None
    with np.load(folder / "img.npz") as z:
        x, y = z["x"], z["y"]
    if kind == "npz":
        path = folder / "f.npz"
        path.write_bytes(data.draw(fuzz.data_npz(x, y)))
        return kind, path, None
    images, labels = folder / "f-images-idx3-ubyte", folder / "f-labels-idx1-ubyte"
    images.write_bytes(fuzz.idx_bytes(x))
    labels.write_bytes(fuzz.idx_bytes(y.astype(np.uint8)))
    target = data.draw(st.sampled_from([images, labels]))
    target.write_bytes(data.draw(fuzz.idx_file(x if target == images else
                                               y.astype(np.uint8))))
    return kind, images, str(labels)


@settings(max_examples=EXAMPLES, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_fuzzed_data_file_is_inspected_and_built_or_refused(seed_folder, data):
    kind, path, labels = _mutated(data, seed_folder)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            info = inspect_source(str(path), labels=labels)
            spec = DatasetSpec(source=str(path), labels=labels,
                               target=info.default_target if kind == "csv" else None)
            build_dataset(spec)
            outcome = "built"
        except NNStudioError as e:
            assert str(e).strip() and "\n" not in str(e).strip()[:1], str(e)
            outcome = "refused"
    assert not caught, [str(w.message) for w in caught]
    STATS[f"{kind}: {outcome}"] += 1


@pytest.mark.parametrize("damage", ["cut", "name", "user"])
def test_source_page_shows_the_sentence_and_stays_usable(qtbot, seed_folder, damage):
    """The real wizard page with a damaged file (or a 5,000-character name), then a good one."""
    from nnstudio.gui.wizards.dataset_wizard import DatasetWizard

    wiz = DatasetWizard()
    qtbot.addWidget(wiz)
    wiz.show()
    if damage == "cut":
        bad = seed_folder / "broken.npz"
        bad.write_bytes((seed_folder / "img.npz").read_bytes()[:200])
    elif damage == "name":
        bad = seed_folder / ("a" * 5000 + ".csv")
    else:
        bad = "~nosuchuser/d.csv"  # expanduser raises for an unknown user
    wiz.source_page.set_file(str(bad))
    wiz.next()
    assert wiz.currentId() == DatasetWizard.PAGE_SOURCE
    text = wiz.source_page.path_error.text()
    assert text and "Traceback" not in text and len(text) < 400, text
    assert wiz.source_page.path_error.isVisible()
    wiz.source_page.set_file(str(seed_folder / "d.csv"))
    wiz.next()
    assert wiz.currentId() != DatasetWizard.PAGE_SOURCE


def test_report_import_counts():
    """Not a check: prints how many files the import property test tried (``-s``)."""
    if STATS:
        print("\nGUI import examples:", sum(STATS.values()), dict(sorted(STATS.items())))
