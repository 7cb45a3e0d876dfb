"""The layer palette: every registered layer type, grouped, with icons and a filter box.

Generated from :data:`~nnstudio.core.engine.layer.LAYERS`, so a layer type registered by the
engine appears by itself. Items drag as :data:`LAYER_MIME` data that the canvas accepts;
double-click (or Enter) asks the window to add the layer next to the selection.
"""

from __future__ import annotations

from PySide6.QtCore import (
    QMimeData,
    QModelIndex,
    QPersistentModelIndex,
    QSize,
    QSortFilterProxyModel,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QColor, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QAbstractItemView,
    QLabel,
    QLineEdit,
    QTreeView,
    QVBoxLayout,
    QWidget,
)

from nnstudio.core.engine.layer import CATEGORIES, LAYERS
from nnstudio.gui.icons import action_icon, layer_icon
from nnstudio.gui.theme import current_theme

#: MIME type of a palette drag: the layer's type name as UTF-8.
LAYER_MIME = "application/x-nnstudio-layer"
#: Item data role holding the layer type name (None on group rows).
TYPE_ROLE = Qt.ItemDataRole.UserRole + 1


def layer_from_mime(mime: QMimeData) -> str | None:
    """The layer type name carried by palette MIME data, or ``None``."""
    if not mime.hasFormat(LAYER_MIME):
        return None
    return bytes(mime.data(LAYER_MIME).data()).decode("utf-8", "replace").strip() or None


def tooltip(type_name: str) -> str:
    """One line that says what the layer computes: ``Sigmoid: σ(z) = 1 / (1 + e^−z) — …``."""
    cls = LAYERS[type_name]
    return f"{type_name}: {cls.summary}" if cls.summary else type_name



#: The order within a palette group: what a beginner reaches for first (Dense before
#: attention, plain activations before their smooth variants, 2-D image layers before 1-D
#: sequence ones). A type not listed follows in registration order.
PALETTE_ORDER = (
    "Input", "Output", "Softmax",
    "Dense", "Flatten", "Reshape", "Permute", "Embedding", "PositionalEmbedding",
    "MultiHeadAttention",
    "ReLU", "Sigmoid", "Tanh", "Linear", "LeakyReLU", "GELU", "ELU", "SiLU", "Softplus", "PReLU",
    "Dropout", "BatchNorm", "LayerNorm",
    "Conv2D", "MaxPool2D", "AvgPool2D", "GlobalAvgPool2D", "GlobalMaxPool2D",
    "DepthwiseConv2D", "Conv2DTranspose", "UpSampling2D",
    "Conv1D", "MaxPool1D", "AvgPool1D", "GlobalAvgPool1D", "LastPosition",
    "SimpleRNN", "LSTM", "GRU", "Bidirectional",
    "Add", "Concatenate", "Multiply", "Average",
)


def _palette_rank(name: str) -> tuple[int, int]:
    order = PALETTE_ORDER.index(name) if name in PALETTE_ORDER else len(PALETTE_ORDER)
    return order, list(LAYERS).index(name)

class PaletteModel(QStandardItemModel):
    """Group rows (palette categories) holding one draggable row per layer type."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.rebuild()

    def rebuild(self) -> None:
        """Read the registry again (after more layer types were registered)."""
        self.clear()
        groups: dict[str, QStandardItem] = {}
        categories = list(CATEGORIES) + sorted(
            {c.category for c in LAYERS.values()} - set(CATEGORIES))
        for category in categories:
            members = [n for n, c in LAYERS.items() if c.category == category]
            if not members:
                continue
            members.sort(key=_palette_rank)
            group = QStandardItem(category.upper())
            group.setFlags(Qt.ItemFlag.ItemIsEnabled)
            group.setData(category, Qt.ItemDataRole.AccessibleTextRole)
            font = group.font()
            font.setBold(True)
            font.setPointSizeF(max(font.pointSizeF(), 9.0) - 1)
            group.setFont(font)
            group.setForeground(QColor(current_theme().muted))
            group.setSizeHint(QSize(-1, 28))
            groups[category] = group
            for name in members:
                item = QStandardItem(layer_icon(name), name)
                item.setData(name, TYPE_ROLE)
                item.setToolTip(tooltip(name))
                item.setSizeHint(QSize(-1, 24))
                item.setFlags(Qt.ItemFlag.ItemIsEnabled | Qt.ItemFlag.ItemIsSelectable
                              | Qt.ItemFlag.ItemIsDragEnabled)
                group.appendRow(item)
            self.appendRow(group)

    def mimeTypes(self) -> list[str]:
        return [LAYER_MIME]

    def mimeData(self, indexes) -> QMimeData:
        """Palette drag data for the first layer row among ``indexes``."""
        mime = QMimeData()
        for index in indexes:
            name = index.data(TYPE_ROLE)
            if name:
                mime.setData(LAYER_MIME, name.encode("utf-8"))
                mime.setText(name)
                break
        return mime

    def index_of(self, type_name: str) -> QModelIndex:
        """The model index of a layer type's row (invalid when unknown)."""
        for r in range(self.rowCount()):
            group = self.item(r)
            for c in range(group.rowCount()):
                if group.child(c).data(TYPE_ROLE) == type_name:
                    return group.child(c).index()
        return QModelIndex()


class PaletteFilter(QSortFilterProxyModel):
    """Keeps layers whose name, group or summary contains the filter text."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setRecursiveFilteringEnabled(True)
        self.setFilterCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
        self._text = ""

    def set_text(self, text: str) -> None:
        self._text = text.strip().lower()
        self.setFilterFixedString(self._text)  # re-runs filterAcceptsRow

    def filterAcceptsRow(self, row: int, parent: QModelIndex | QPersistentModelIndex) -> bool:
        if not self._text:
            return True
        index = self.sourceModel().index(row, 0, parent)
        name = index.data(TYPE_ROLE)
        if not name:
            return False  # a group shows when one of its layers does (recursive filtering)
        cls = LAYERS.get(name)
        haystack = f"{name} {cls.category if cls else ''} {cls.summary if cls else ''}".lower()
        return all(word in haystack for word in self._text.split())


def best_match(names: list[str], text: str) -> str:
    """The layer the filter text most likely names: the name itself, then a name starting
    with it, then one containing it, then the first shown (matched by group or summary —
    "output" must pick Output, not Input of the group "Input/Output")."""
    t = text.strip().lower()
    for test in (lambda n: n.lower() == t, lambda n: n.lower().startswith(t),
                 lambda n: t in n.lower()):
        hit = next((n for n in names if test(n)), None)
        if hit is not None:
            return hit
    return names[0]


class PalettePanel(QWidget):
    """Filter box, the grouped layer tree and the selected layer's description."""

    #: The user asked to add a layer (double-click or Enter): its type name.
    layer_activated = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.model = PaletteModel(self)
        self.proxy = PaletteFilter(self)
        self.proxy.setSourceModel(self.model)

        self.filter = QLineEdit(self)
        self.filter.setObjectName("paletteFilter")
        self.filter.setPlaceholderText("Filter layers…")
        self.filter.setClearButtonEnabled(True)
        self.filter.addAction(action_icon("search"), QLineEdit.ActionPosition.LeadingPosition)
        self.filter.textChanged.connect(self._on_filter)
        self.filter.returnPressed.connect(self._on_filter_return)

        self.tree = QTreeView(self)
        self.tree.setObjectName("palette")
        self.tree.setModel(self.proxy)
        self.tree.setHeaderHidden(True)
        self.tree.setRootIsDecorated(False)
        self.tree.setIndentation(8)
        self.tree.setIconSize(QSize(18, 18))
        self.tree.setUniformRowHeights(True)
        self.tree.setDragEnabled(True)
        self.tree.setDragDropMode(QAbstractItemView.DragDropMode.DragOnly)
        self.tree.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.tree.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.tree.setExpandsOnDoubleClick(False)
        self.tree.setItemsExpandable(False)
        self._activating = False
        self.tree.activated.connect(self._on_activated)
        self.tree.doubleClicked.connect(self._on_activated)
        self.tree.selectionModel().currentChanged.connect(self._on_current)
        self.tree.expandAll()

        self.details = QLabel(self)
        self.details.setObjectName("propSummary")
        self.details.setWordWrap(True)
        self.details.setMinimumHeight(48)
        self.details.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.details.setText("Drag a layer onto the canvas.")

        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 8)
        layout.setSpacing(6)
        layout.addWidget(self.filter)
        layout.addWidget(self.tree, 1)
        layout.addWidget(self.details)

    def rebuild(self) -> None:
        """Rebuild from the registry (new layer types, new theme colours)."""
        self.model.rebuild()
        self.tree.expandAll()

    def type_names(self) -> list[str]:
        """Layer types currently shown (after filtering), top to bottom."""
        out = []
        for r in range(self.proxy.rowCount()):
            group = self.proxy.index(r, 0)
            for c in range(self.proxy.rowCount(group)):
                out.append(self.proxy.index(c, 0, group).data(TYPE_ROLE))
        return out

    def mime_data(self, type_name: str) -> QMimeData:
        """The MIME data a drag of ``type_name`` carries (what the tree view would send)."""
        return self.model.mimeData([self.model.index_of(type_name)])

    def _on_filter(self, text: str) -> None:
        self.proxy.set_text(text)
        self.tree.expandAll()
        names = self.type_names()
        if len(names) >= 1 and text:
            self._select(best_match(names, text))

    def _on_filter_return(self) -> None:
        """Enter in the filter box adds the highlighted (best matching) layer."""
        index = self.tree.currentIndex()
        name = index.data(TYPE_ROLE) if index.isValid() else None
        names = self.type_names()
        if name not in names:
            name = best_match(names, self.filter.text()) if names else None
        if name:
            self.layer_activated.emit(name)

    def _select(self, type_name: str) -> None:
        index = self.proxy.mapFromSource(self.model.index_of(type_name))
        if index.isValid():
            self.tree.setCurrentIndex(index)

    def _on_current(self, current: QModelIndex, previous: QModelIndex) -> None:
        name = current.data(TYPE_ROLE) if current.isValid() else None
        if name in LAYERS:
            cls = LAYERS[name]
            self.details.setText(f"<b>{name}</b> — {cls.summary}")
        else:
            self.details.setText("Drag a layer onto the canvas.")

    def _on_activated(self, index: QModelIndex) -> None:
        # A double click emits both ``activated`` (where the style activates on double
        # click) and ``doubleClicked`` in the same event: one layer, not two.
        if self._activating:
            return
        name = index.data(TYPE_ROLE)
        if name:
            self._activating = True
            QTimer.singleShot(0, self._activation_done)
            self.layer_activated.emit(name)

    def _activation_done(self) -> None:
        self._activating = False
