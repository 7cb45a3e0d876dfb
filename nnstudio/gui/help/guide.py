"""Help ▸ User Guide: the guide shipped with the app (``resources/docs/*.md``), offline."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QUrl
from PySide6.QtWidgets import QDialog, QDialogButtonBox, QTextBrowser, QVBoxLayout

from nnstudio.resources import resource_path

#: The page the guide opens on.
START = "guide.md"


class GuideDialog(QDialog):
    """A browser over the shipped Markdown pages (links between them work; nothing online)."""

    def __init__(self, parent=None, page: str = START):
        super().__init__(parent)
        self.setWindowTitle("nnstudio user guide")
        self.browser = QTextBrowser()
        self.browser.setObjectName("guideBrowser")
        self.browser.setOpenExternalLinks(False)
        self.browser.setOpenLinks(False)
        self.browser.anchorClicked.connect(self._follow)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.browser)
        layout.addWidget(buttons)
        self.resize(760, 640)
        self.page = ""
        self.open_page(page)

    def open_page(self, name: str) -> bool:
        path = resource_path("docs", name)
        if not path.is_file():
            self.browser.setPlainText(f"The guide page {name} is not installed ({path}).")
            return False
        self.page = name
        self.browser.setMarkdown(path.read_text(encoding="utf-8"))
        return True

    def _follow(self, url: QUrl) -> None:
        target = url.toString()
        if url.scheme() in ("http", "https", "mailto"):
            return  # offline guide: no browser is started
        name = Path(target.split("#", 1)[0]).name
        if name:
            self.open_page(name)


def show_guide(window: Any) -> GuideDialog:
    dialog = GuideDialog(window)
    if getattr(window, "interactive", True):
        dialog.show()
    return dialog
