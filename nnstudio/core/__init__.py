"""GUI-free core of nnstudio: engine, graph document, data, training and files.

Nothing under this package may import Qt or pyqtgraph (``tests/core/test_no_qt.py``).
"""
