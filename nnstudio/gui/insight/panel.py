"""The "Inside the network" panel and its installation into the main window.

:class:`InsightPanel` stacks the step controls over four tabs — decision boundary / fitted
function, neurons, weights & gradients, loss landscape — all fed by one
:class:`~.source.InsightSource`. :func:`install` puts it in a dock of the main window and
connects it to the session: new data, a new model, and every training run (found as the
session's or the window's ``TrainingRunner``).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, Qt, QTimer, Slot
from PySide6.QtWidgets import (
    QApplication,
    QDockWidget,
    QFrame,
    QScrollArea,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from nnstudio.core.engine.network import Network, infer_shapes
from nnstudio.core.insight.dataview import InsightData
from nnstudio.gui.insight.boundary_view import BoundaryView
from nnstudio.gui.insight.feature_maps_view import FeatureMapsView
from nnstudio.gui.insight.landscape_view import LandscapeView
from nnstudio.gui.insight.neuron_view import NeuronView
from nnstudio.gui.insight.source import InsightSource
from nnstudio.gui.insight.stats_view import StatsView
from nnstudio.gui.insight.step_controls import StepControls
from nnstudio.gui.layout_barrier import LayoutBarrier

TITLE = "Inside the network"


class InsightPanel(QWidget):
    """Step controls and the four insight views over one source."""

    def __init__(self, source: InsightSource | None = None, parent: QWidget | None = None):
        super().__init__(parent)
        self.source = source or InsightSource(self)
        self.steps = StepControls(self.source)
        self.tabs = QTabWidget()
        self.tabs.setDocumentMode(True)
        self.boundary = BoundaryView(self.source)
        self.neurons = NeuronView(self.source)
        self.stats = StatsView(self.source)
        self.landscape = LandscapeView(self.source)
        self.tabs.addTab(self.boundary, "Decision boundary")
        self.tabs.addTab(self.neurons, "Neurons")
        self.tabs.addTab(self.stats, "Weights && gradients")
        self.tabs.addTab(self.landscape, "Loss landscape")
        self.feature_maps = FeatureMapsView(self.source)  # images and spectrograms
        self.tabs.addTab(self.feature_maps, "Feature maps")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.steps)
        layout.addWidget(self.tabs, 1)
        self._kind: str | None = None  # "table", "images", "tokens" or "other" (_retitle)
        self.source.data_changed.connect(self._retitle)
        self._retitle()

    def showEvent(self, event) -> None:
        self.source.shown = True
        super().showEvent(event)

    def hideEvent(self, event) -> None:
        self.source.shown = False
        super().hideEvent(event)

    @property
    def views(self) -> list:
        return [self.boundary, self.neurons, self.stats, self.landscape, self.feature_maps]

    def _retitle(self) -> None:
        data = self.source.data
        regression = data is not None and data.task == "regression"
        self.tabs.setTabText(0, "Fitted function" if regression else "Decision boundary")
        # The decision map only reads tables: for images and spectrograms bring the feature
        # maps forward, for token sequences the attention maps (when that tab exists).
        kind = None if data is None else (
            "table" if data.tabular else "tokens" if data.token_sequences
            else "images" if len(getattr(data.x_train, "shape", ())) == 4 else "other")
        if kind != self._kind and kind is not None:
            best = {"table": self.boundary, "images": self.feature_maps,
                    "tokens": getattr(self, "attention", None), "other": None}[kind]
            if best is not None and self.tabs.currentWidget() in (
                    self.boundary, self.feature_maps, getattr(self, "attention", None)):
                self.tabs.setCurrentWidget(best)
        self._kind = kind

    def show_view(self, name: str) -> None:
        """Bring a tab forward: ``boundary``, ``neurons``, ``stats`` or ``landscape``."""
        self.tabs.setCurrentWidget(getattr(self, name))

    def shutdown(self) -> None:
        self.source.shutdown()

    @Slot()
    def follow_canvas_selection(self) -> None:
        """The editor's selection changed: a single Dense node becomes the inspected layer."""
        scene = getattr(self, "canvas_scene", None)
        try:
            selected = scene.selected_node_ids() if scene is not None else []
        except RuntimeError:  # the window is being torn down
            return
        follow_canvas(self, selected)


# -- installation ------------------------------------------------------------------------------
def _find_runner(window: Any, session: Any) -> Any:
    runner = getattr(session, "runner", None)
    if runner is not None:
        return runner
    from nnstudio.gui.workers.training_worker import TrainingRunner

    found = window.findChildren(TrainingRunner) if hasattr(window, "findChildren") else []
    if not found and isinstance(session, QObject):
        found = session.findChildren(TrainingRunner)
    return found[0] if found else None


#: Designs with more parameters are not built for the views before training.
DESIGN_PREVIEW_PARAMS = 2_000_000


def _designed_network(session: Any) -> Network | None:
    """An untrained network from the editor's design (to look inside before training)."""
    source = getattr(session, "network_source", None)
    if source is None:
        return None
    try:
        spec, shape = source()
        if shape is None and session.prepared is not None:
            shape = tuple(session.prepared.input_shape)
        # Building (allocating, initializing) a huge design on every edit would stop the
        # window for seconds: such a network is looked inside once it is trained.
        columns = None
        if session.prepared is not None:  # Inputs taking chosen columns of the table
            from nnstudio.gui.design_data import columns_for

            columns = columns_for(spec, session.prepared)
        if infer_shapes(spec, shape, columns).total_params > DESIGN_PREVIEW_PARAMS:
            return None
        config = getattr(session, "training_config", None)
        return Network(spec, shape, seed=config.seed if config is not None else 0,
                       input_columns=columns)
    except Exception:  # a half-built design: nothing to show yet
        return None


def _is_design(net: Network, session: Any) -> bool:
    """True when ``net`` (the trained network) is still the editor's design."""
    source = getattr(session, "network_source", None)
    if source is None:
        return True
    try:
        spec, _ = source()
        return spec.to_dict() == net.spec.to_dict()
    except Exception:  # a half-built design: keep showing the trained network
        return True


def connect_session(panel: InsightPanel, session: Any, window: Any = None) -> None:
    """Keep ``panel`` in step with ``session`` (data, model, runs)."""
    source = panel.source

    def sync_data() -> None:
        prepared = getattr(session, "prepared", None)
        source.set_data(InsightData.from_prepared(prepared) if prepared is not None else None)

    def sync_model() -> None:
        if source.training:
            return
        net = getattr(session, "network", None)
        if net is None or not _is_design(net, session):
            net = _designed_network(session)
        source.set_network(net, getattr(session, "training_config", None))

    pending = []

    def design_changed() -> None:
        """An edit on the canvas: show the edited network (once per turn of the event loop,
        however many commands an edit pushed)."""
        if not pending:
            pending.append(True)
            QTimer.singleShot(0, panel, lambda: (pending.clear(), sync_model()))

    def attach() -> None:
        runner = _find_runner(window, session)
        if runner is not None:
            source.attach_runner(runner)

    def data_changed() -> None:
        sync_data()
        sync_model()  # the designed network takes the data's shape

    session.dataset_changed.connect(data_changed)
    session.model_changed.connect(sync_model)
    document = getattr(window, "document", None)
    if document is not None and hasattr(document, "changed"):
        document.changed.connect(design_changed)
    session.training_started.connect(attach)
    if hasattr(session, "training_finished"):
        session.training_finished.connect(lambda _o: sync_model())
    attach()
    sync_data()
    sync_model()


def follow_canvas(panel: InsightPanel, selected: list[str]) -> None:
    """A Dense node selected on the canvas becomes the neuron inspector's layer."""
    net = panel.source.network
    if len(selected) != 1 or net is None or selected[0] not in net.layers:
        return
    node_id = selected[0]
    if net.layers[node_id].type_name == "Dense" and node_id != panel.neurons.selected[0]:
        panel.neurons.select(node_id, 0)


def install(window: Any, session: Any) -> InsightPanel:
    """Add the "Inside the network" dock to ``window`` and connect it to ``session``.

    Returns the panel (also kept as ``window.insight_panel``). The dock starts tabbed with
    the right-hand docks when there are some.
    """
    panel = InsightPanel()
    right = Qt.DockWidgetArea.RightDockWidgetArea
    # The views want ~700 px; tabbed with the narrow right-hand docks they would widen that
    # whole column and squeeze the canvas. In a scroll area the dock takes what it is given.
    holder = QScrollArea()
    holder.setWidgetResizable(True)
    holder.setFrameShape(QFrame.Shape.NoFrame)
    # A label's new text relays out the panel; without the barrier every such relayout also
    # made the scroll area re-fit the panel (8-38 ms of GUI thread, 4 times a second).
    holder.setWidget(LayoutBarrier(panel))
    if hasattr(window, "add_dock"):  # the main window's own docks (View ▸ Panels, layout)
        dock = window.add_dock(holder, TITLE, right, "insight")
    else:
        dock = QDockWidget(TITLE, window)
        dock.setObjectName("dock_insight")
        dock.setWidget(holder)
        window.addDockWidget(right, dock)
    others = [
        d for d in window.findChildren(QDockWidget)
        if d is not dock and window.dockWidgetArea(d) == right and not d.isFloating()
    ]
    if others:  # a tab behind the right-hand docks: it costs nothing until it is opened
        window.tabifyDockWidget(others[-1], dock)
        others[-1].raise_()
    window.insight_panel = panel
    window.insight_dock = dock

    def widen() -> None:
        # Narrow by default (see the scroll area above); a learner who opens the tab gets
        # the room the views want, up to half the window.
        want = min(panel.sizeHint().width(), window.width() // 2)
        if dock.isVisible() and not dock.isFloating() and dock.width() < want:
            window.resizeDocks([dock], [want], Qt.Orientation.Horizontal)

    # After the tab switch has been laid out: resizing inside the signal is overridden.
    dock.visibilityChanged.connect(lambda visible: visible and QTimer.singleShot(0, widen))
    compute = panel.source.compute
    window.destroyed.connect(lambda *_: compute.shutdown(timeout=1.0))
    app = QApplication.instance()
    if app is not None:
        app.aboutToQuit.connect(panel.shutdown)
    connect_session(panel, session, window)
    from nnstudio.gui.insight.attention_view import add_attention_tab

    add_attention_tab(panel, session)  # text models: attention heat maps, token influence
    scene = getattr(window, "scene", None)
    if scene is not None and hasattr(scene, "selected_node_ids"):
        panel.canvas_scene = scene
        scene.selectionChanged.connect(panel.follow_canvas_selection)
    from nnstudio.gui.panels.training import TrainingPanel

    panels = window.findChildren(TrainingPanel)
    if panels:
        panel.steps.start_handler = panels[0].step_start
        panel.steps.update_state()
    return panel
