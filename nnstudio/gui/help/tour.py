"""Getting Started: the course's nine steps, done by the user in the real window.

A small window beside the main one lists the steps — define the problem → collect and
prepare data → split → architecture → train → validate → test → export → monitor. Each says
what to click; "Show me" brings the right panel forward and frames the control; the step is
ticked when the main window's real state says it is done (an example open, data split,
a network that trains, a trained model, results seen, an export written, a prediction made).
The tour never does the step for the user, except opening the example of step 1 when asked.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QDialog,
    QFrame,
    QGridLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from nnstudio.gui.help.highlight import point_at
from nnstudio.gui.theme import current_theme

#: The example the tour uses.
EXAMPLE = "house_price"


@dataclass
class Step:
    """One step: what it is, what to do, where to look, and when it is done."""

    title: str
    todo: str
    show: Callable[[Any], QWidget | None]
    done: Callable[[Any, TourState], bool]


@dataclass
class TourState:
    """What the tour saw happen (things the window does not keep)."""

    exported: bool = False
    predicted: bool = False
    results_seen: bool = False


def _toolbar_button(window: Any, key: str) -> QWidget | None:
    action = window.workflow.actions.get(key)
    tb = getattr(window, "toolbar", None)
    return tb.widgetForAction(action) if tb is not None and action is not None else None


def _show_dock(window: Any, key: str) -> QWidget:
    window.workflow.show_dock(key)
    return window.workflow.docks[key]


def _open_example(window: Any) -> QWidget | None:
    from nnstudio.gui.files import example_path

    project = getattr(window.project, "path", None) or ""
    if not str(project).endswith(f"{EXAMPLE}.nnsproj"):
        window.open_path(str(example_path(EXAMPLE)))
    return window.canvas


def _prepared(window: Any):
    return window.workflow.session.prepared


def _split_done(window: Any, _s: TourState) -> bool:
    p = _prepared(window)
    counts = getattr(p, "counts", {}) or {}
    return p is not None and all(counts.get(k, 0) > 0 for k in ("train", "validation", "test"))


def _network_ok(window: Any, _s: TourState) -> bool:
    doc = window.document
    return len(doc) >= 2 and doc.report.ok and doc.report.total_params > 0


def _trained(window: Any, _s: TourState) -> bool:
    return window.workflow.session.model is not None


STEPS = [
    Step("1. Define the problem",
         "Open the example: a house's area and location → its price (a regression). "
         "File ▸ Examples ▸ house_price, or press “Show me”.",
         _open_example,
         lambda w, s: str(getattr(w.project, "path", "") or "").endswith(".nnsproj")),
    Step("2. Collect and prepare the data",
         "Click Data: look at the columns, choose the target (price) and how numbers and "
         "categories are prepared.",
         lambda w: _toolbar_button(w, "load_data"),
         lambda w, s: _prepared(w) is not None),
    Step("3. Split it",
         "On the wizard's last page: 70 % to train, 15 % to validate, 15 % to test.",
         lambda w: _toolbar_button(w, "load_data"),
         _split_done),
    Step("4. Draw the architecture",
         "Drag layers from the palette onto the canvas and connect them, or pick "
         "Templates ▸ MLP classifier. No layer may be red.",
         lambda w: w.docks.get("palette") or w.canvas,
         _network_ok),
    Step("5. Train",
         "In the Training panel press Start (F5) and watch the loss fall.",
         lambda w: (_show_dock(w, "training"), w.workflow.training.start_button)[1],
         _trained),
    Step("6. Validate",
         "Open the Results panel: the validation scores tell whether it generalizes.",
         lambda w: _show_dock(w, "results"),
         lambda w, s: _trained(w, s) and s.results_seen),
    Step("7. Test",
         "In Results, pick the test split: the score on data the network never saw.",
         lambda w: (_show_dock(w, "results"), w.workflow.results.split)[1],
         lambda w, s: _trained(w, s) and s.results_seen
         and w.workflow.results.split.currentData() == "test"),
    Step("8. Export",
         "File ▸ Export Model… (Ctrl+E): an .npz, ONNX or a standalone NumPy folder.",
         lambda w: _toolbar_button(w, "export"),
         lambda w, s: s.exported),
    Step("9. Monitor and use it",
         "In Predict type a new house; in Inside the network see what it learned.",
         lambda w: _show_dock(w, "predict"),
         lambda w, s: s.predicted or getattr(w.workflow.predict, "last", None) is not None),
]


class GettingStarted(QDialog):
    """The tour window (not modal: the user works in the main window beside it)."""

    def __init__(self, window: Any):
        super().__init__(window)
        self.setObjectName("gettingStarted")
        self.setWindowTitle("Getting Started — the nine steps")
        self.setModal(False)
        self.setWindowFlag(Qt.WindowType.Tool, True)
        self.window_ = window
        self.state = TourState()
        self.marks: list[QLabel] = []
        self.buttons: list[QPushButton] = []
        intro = QLabel("The life of a network, as the course teaches it, in this window. Do each "
                       "step yourself; it is ticked when it is done.")
        intro.setWordWrap(True)
        grid = QGridLayout()
        grid.setColumnStretch(1, 1)
        muted = current_theme().muted
        for i, step in enumerate(STEPS):
            mark = QLabel("○")
            mark.setObjectName(f"tourMark{i + 1}")
            title = QLabel(f"<b>{step.title}</b><br><span style='color:{muted}'>{step.todo}"
                           "</span>")
            title.setWordWrap(True)
            button = QPushButton("Show me")
            button.setObjectName(f"tourShow{i + 1}")
            button.clicked.connect(lambda _c=False, k=i: self.show_step(k))
            grid.addWidget(mark, i, 0, Qt.AlignmentFlag.AlignTop)
            grid.addWidget(title, i, 1)
            grid.addWidget(button, i, 2, Qt.AlignmentFlag.AlignTop)
            self.marks.append(mark)
            self.buttons.append(button)
        self.progress = QLabel()
        steps = QWidget()
        steps.setLayout(grid)
        scroll = QScrollArea()  # a short screen (640 px) scrolls the steps, not the window
        scroll.setWidget(steps)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(scroll, 1)
        layout.addWidget(self.progress)
        self.resize(460, max(320, min(640, window.height() - 110)))
        self._watch()
        self._timer = QTimer(self)
        self._timer.setInterval(400)
        self._timer.timeout.connect(self.refresh)
        self._timer.start()
        self.refresh()

    # -- what happened ---------------------------------------------------------------------
    def _watch(self) -> None:
        wf = self.window_.workflow
        wf.predict.predicted.connect(lambda *_: self._saw("predicted"))
        wf.docks["results"].visibilityChanged.connect(
            lambda visible: visible and self._saw("results_seen"))
        self._export_hooked: set[int] = set()

    def _saw(self, what: str) -> None:
        setattr(self.state, what, True)
        self.refresh()

    def _hook_exports(self) -> None:
        from nnstudio.gui.panels.export_dialog import ExportDialog

        for dialog in self.window_.findChildren(ExportDialog):
            if id(dialog) not in self._export_hooked:
                self._export_hooked.add(id(dialog))
                dialog.exported.connect(lambda *_: self._saw("exported"))

    # -- showing ---------------------------------------------------------------------------
    def done_steps(self) -> list[bool]:
        out = []
        for step in STEPS:
            try:
                out.append(bool(step.done(self.window_, self.state)))
            except (AttributeError, RuntimeError):  # a panel being rebuilt
                out.append(False)
        return out

    def refresh(self) -> None:
        self._hook_exports()
        done = self.done_steps()
        ok = "#2e7d32"  # green in both themes
        first_open = next((i for i, d in enumerate(done) if not d), None)
        for i, (mark, d) in enumerate(zip(self.marks, done, strict=True)):
            mark.setText("✓" if d else ("▶" if i == first_open else "○"))
            mark.setStyleSheet(f"color: {ok}; font-weight: 700;" if d else "")
        n = sum(done)
        self.progress.setText(f"{n} of {len(STEPS)} steps done" + (
            " — well done: that is the whole life of a network." if n == len(STEPS) else ""))

    def show_step(self, index: int):
        """Bring the step's panel forward and frame its control; returns the overlay."""
        target = STEPS[index].show(self.window_)
        self.refresh()
        return point_at(target)


def show_tour(window: Any) -> GettingStarted:
    tour = getattr(window, "getting_started", None)
    if tour is None:
        tour = window.getting_started = GettingStarted(window)
    if getattr(window, "interactive", True):
        if not tour.isVisible():  # beside the work: over the right-hand panels
            frame = window.frameGeometry()
            tour.move(max(frame.left(), frame.right() - tour.width() - 24), frame.top() + 90)
        tour.show()
        tour.raise_()
    return tour
