"""Property-based robustness of the window's open path (issue 14): a mutated project file
opened in the real main window gives at most one readable dialog, never an unexpected-error
dialog or an exception in a slot, and the window stays usable (a good project opens after it).

One window serves every example, so a state left broken by one file shows on the next. The
number of examples comes from the Hypothesis profile (``tests/robustness/conftest.py``).
"""

from __future__ import annotations

import json
import os
import shutil
from collections import Counter

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.robustness import strategies as fuzz
from tests.robustness.seeds import make_seeds

pytestmark = pytest.mark.gui

STATS: Counter = Counter()
PROFILE_EXAMPLES = {"ci": 25, "long": 600}


@pytest.fixture(scope="module")
def seed_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("gui-seeds")
    make_seeds(folder)
    return folder


@pytest.fixture
def gui_window(make_window):
    return make_window(workflow_panels=True)


def _check_dialog(texts: list[str]) -> None:
    assert len(texts) <= 1, texts
    for text in texts:
        assert text.strip() and "Traceback" not in text, text
        assert "internal error" not in text and "unexpected error" not in text.lower(), text
        assert len(text) < 3000, text


@settings(max_examples=PROFILE_EXAMPLES.get(os.environ.get("NNSTUDIO_HYPOTHESIS", "ci"), 25),
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
@example(data=None)  # the 700-deep "gui" field
def test_fuzzed_project_opens_cleanly_or_says_why(gui_window, dialogs, seed_folder, data):
    window = gui_window
    good = seed_folder / "p.nnsproj"
    bad = seed_folder / "fuzzed.nnsproj"
    if data is None:
        text = good.read_text().rstrip()
        bad.write_text(text[:-1] + ', "gui": ' + "[" * 700 + "]" * 700 + "}")
    else:
        name = data.draw(st.sampled_from(["p", "pi", "ps"]))
        seed = json.loads((seed_folder / f"{name}.nnsproj").read_text())
        if name == "ps":  # with a trained run: its files are in <project>.runs/
            bad = seed_folder / "psx.nnsproj"
            if not (seed_folder / "psx.runs").exists():
                shutil.copytree(seed_folder / "ps.runs", seed_folder / "psx.runs")
        bad.write_bytes(data.draw(fuzz.project_file(seed)))
    dialogs.shown.clear()
    opened = window.open_path(bad, ask=False)
    texts = dialogs.texts()
    _check_dialog(texts)
    if not opened:
        assert len(texts) == 1, "a refused file says why"
    STATS[f"opened={opened} dialogs={len(texts)}"] += 1
    # The window is still usable: a good project opens, with its graph on the canvas.
    dialogs.shown.clear()
    assert window.open_path(good, ask=False), dialogs.texts()
    assert len(window.document) == 5 and not dialogs.texts()
    assert window.isVisible()


@settings(max_examples=PROFILE_EXAMPLES.get(os.environ.get("NNSTUDIO_HYPOTHESIS", "ci"), 25),
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_fuzzed_model_file_opens_cleanly_or_says_why(gui_window, dialogs, seed_folder, data):
    """Model files open in the window too (as an untitled project): the same invariant."""
    import numpy as np

    window = gui_window
    with np.load(seed_folder / "p.npz", allow_pickle=False) as z:
        entries = {k: z[k] for k in z.files}
    bad = seed_folder / "fuzzed.npz"
    bad.write_bytes(data.draw(fuzz.model_file(entries)))
    dialogs.shown.clear()
    opened = window.open_path(bad, ask=False)
    texts = dialogs.texts()
    _check_dialog(texts)
    if not opened:
        assert len(texts) == 1, "a refused file says why"
    STATS[f"model opened={opened} dialogs={len(texts)}"] += 1
    dialogs.shown.clear()
    assert window.open_path(seed_folder / "p.nnsproj", ask=False), dialogs.texts()
    assert len(window.document) == 5 and not dialogs.texts()


def test_model_with_a_text_statistic_is_refused_with_one_dialog(gui_window, dialogs,
                                                                seed_folder):
    """Found by the long run of the property test above: a model whose preparation held
    ``"mean": "Dense"`` opened, then the predict panel's form raised in a slot."""
    import numpy as np

    with np.load(seed_folder / "p.npz", allow_pickle=False) as z:
        entries = {k: z[k] for k in z.files}
    prep = json.loads(str(entries["preparation"]))
    prep["features"][0]["mean"] = "Dense"
    entries["preparation"] = np.array(json.dumps(prep))
    bad = seed_folder / "text-mean.npz"
    with open(bad, "wb") as f:
        np.savez(f, **entries)
    dialogs.shown.clear()
    assert not gui_window.open_path(bad, ask=False)
    texts = dialogs.texts()
    assert len(texts) == 1 and "features[0] 'a'.mean: must be a number" in texts[0]
    assert gui_window.open_path(seed_folder / "p.nnsproj", ask=False)


def test_report_gui_counts():
    """Not a check: prints how many files the GUI property test opened, by outcome (``-s``)."""
    if STATS:
        print("\nGUI open examples:", sum(STATS.values()), dict(STATS))
