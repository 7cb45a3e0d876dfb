"""The dataset wizard's options for a free-text column (see ``nnstudio/core/data/text.py``).

A checkable group on the "Prepare the inputs" page, shown when the table has free-text
columns: which column, the encoding (TF-IDF / bag of words, joined to the other features, or
token-id sequences for an Embedding), word or character tokens, lowercase, punctuation
stripping, the vocabulary's maximum size and minimum count, and the sequence length.
"""

from __future__ import annotations

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QSpinBox,
    QWidget,
)

ENCODINGS = {
    "tfidf": "TF-IDF vector (for Dense networks)",
    "bag": "Bag of words (token shares, for Dense networks)",
    "sequence": "Token sequence (for Embedding → attention / recurrent layers)",
}
HINTS = {
    "tfidf": "One input per vocabulary word, weighted by how rare it is in the training "
             "texts; joined after the other feature columns.",
    "bag": "One input per vocabulary word: its share of the text's tokens; joined after the "
           "other feature columns.",
    "sequence": "The text becomes token ids, cut or padded to the length (id 0 = padding, "
                "1 = unknown). It is the network's only input: ignore the other columns, and "
                "start from Templates ▸ Transformer text classifier.",
}


class TextOptionsBox(QGroupBox):
    """Checked = the chosen free-text column is an input; :meth:`options` gives the spec's
    ``text`` section (or None)."""

    def __init__(self, parent: QWidget | None = None):
        super().__init__("Use a free-text column as input", parent)
        self.setObjectName("text_options")
        self.setCheckable(True)
        self.setChecked(False)
        self.column = QComboBox()
        self.column.setObjectName("text_column")
        self.encoding = QComboBox()
        self.encoding.setObjectName("text_encoding")
        for key, text in ENCODINGS.items():
            self.encoding.addItem(text, key)
        self.tokens = QComboBox()
        self.tokens.addItem("Words", "word")
        self.tokens.addItem("Characters", "char")
        self.lowercase = QCheckBox("Lowercase")
        self.lowercase.setChecked(True)
        self.strip = QCheckBox("Remove punctuation and symbols")
        self.max_size = QSpinBox()
        self.max_size.setRange(2, 1_000_000)
        self.max_size.setValue(20_000)
        self.min_count = QSpinBox()
        self.min_count.setRange(1, 1000)
        self.length = QSpinBox()
        self.length.setObjectName("text_length")
        self.length.setRange(1, 4096)
        self.length.setValue(64)
        self.hint = QLabel("")
        self.hint.setWordWrap(True)
        form = QFormLayout(self)
        form.addRow("Column", self.column)
        form.addRow("Encoding", self.encoding)
        form.addRow("Tokens", self.tokens)
        form.addRow("", self.lowercase)
        form.addRow("", self.strip)
        form.addRow("Vocabulary: at most", self.max_size)
        form.addRow("… tokens seen at least", self.min_count)
        form.addRow("Sequence length", self.length)
        form.addRow(self.hint)
        self.encoding.currentIndexChanged.connect(self._encoding_changed)
        self._encoding_changed()
        self.setVisible(False)

    def _encoding_changed(self) -> None:
        key = self.encoding.currentData()
        self.length.setEnabled(key == "sequence")
        self.hint.setText(HINTS[key])

    def set_columns(self, names: list[str], preset: dict | None = None) -> None:
        """Offer the free-text ``names``; hidden when there are none."""
        current = self.column.currentText()
        self.column.clear()
        self.column.addItems(names)
        self.setVisible(bool(names))
        if preset:
            self.setChecked(True)
            cols = preset.get("columns") or []
            if cols and cols[0] in names:
                self.column.setCurrentText(cols[0])
            for combo, key in ((self.encoding, "encoding"), (self.tokens, "tokens")):
                if key in preset:
                    combo.setCurrentIndex(max(0, combo.findData(preset[key])))
            self.lowercase.setChecked(bool(preset.get("lowercase", True)))
            self.strip.setChecked(bool(preset.get("strip_punctuation", False)))
            self.max_size.setValue(int(preset.get("max_size", 20_000)))
            self.min_count.setValue(int(preset.get("min_count", 1)))
            self.length.setValue(int(preset.get("length", 64)))
        elif current in names:
            self.column.setCurrentText(current)

    def offer(self, info, preset: dict | None = None) -> None:
        """Offer the free-text columns of a newly chosen source (``SourceInfo``). Checked at
        once when a preset says so, or when text is all there is to learn from (a column of
        messages and a label): free text is no longer silently left out."""
        from nnstudio.gui.wizards.dataset_source import default_ignored

        tabular = getattr(info, "kind", None) == "table"
        names = [c.name for c in info.columns if c.kind == "text"] if tabular else []
        self.set_columns(names, preset)
        if preset is None and names:
            skip = set(default_ignored(info)) | {info.default_target}
            self.setChecked(not [c for c in info.columns if c.name not in skip])

    def options(self) -> dict | None:
        """The ``dataset.text`` section, or None when unchecked or hidden."""
        if not self.isChecked() or not self.column.count() or self.isHidden():
            return None
        return {"columns": [self.column.currentText()],
                "encoding": self.encoding.currentData(), "tokens": self.tokens.currentData(),
                "lowercase": self.lowercase.isChecked(),
                "strip_punctuation": self.strip.isChecked(),
                "max_size": int(self.max_size.value()), "min_count": int(self.min_count.value()),
                "length": int(self.length.value())}
